"""Replicate tags against real Orthanc and the Splunk test server: once each, searchable, dose by protocol."""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest
import requests
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.splunk import SplunkHook
from copydicom_provider.jobs.candidates import Candidates, Window
from copydicom_provider.jobs.replicate_tags import index_candidates, replicate_tags
from copydicom_provider.testing.dicom_generator import generate_studies, orthanc_id
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, make_plain_sr, to_bytes
from copydicom_provider.testing.splunk import SplunkTestServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def splunk() -> Iterator[SplunkTestServer]:
    with SplunkTestServer() as server:
        yield server


def upload(server, ds: Dataset) -> str:
    reply = requests.post(f"{server.url}/instances", data=to_bytes(ds), auth=server.auth, timeout=30)
    reply.raise_for_status()
    return reply.json()["ID"]


def sop_id(ds: Dataset) -> str:
    return orthanc_id(ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)


def search(server: SplunkTestServer, query: str) -> list[dict]:
    return list(SplunkHook.from_url(server.url(index="dicom")).search(query, earliest_time="0"))


def resent(ds: Dataset) -> Dataset:
    """The same report sent again by the scanner: a new SOP instance, the same irradiation events."""
    copy = Dataset(ds)
    copy.file_meta = ds.file_meta
    copy.SOPInstanceUID = copy.file_meta.MediaStorageSOPInstanceUID = generate_uid(
        entropy_srcs=[ds.SOPInstanceUID, "resent"]
    )
    return copy


def seed_archive(source) -> dict:
    """Images, dose SRs in their variants (quirks, dual source, UTF-8, GE Enhanced SR, a resend), a plain SR."""
    ids: dict[str, list] = {"images": [], "dose": [], "dose_record": [], "other": []}
    long_text = "Long comment " + "x" * 600
    for n, item in enumerate(generate_studies(patients=2, studies_per_patient=1, series_per_study=2,
                                              instances_per_series=2)):
        if n == 0:
            item.dataset.ImageComments = long_text  # LT over 256 characters on an image
        ids["images"].append(upload(source, item.dataset))
    reports = [
        make_ct_dose_sr(seed=1, patient_id="D1", accession_number="A1", long_comment=True),
        make_ct_dose_sr(seed=2, patient_id="D2", accession_number="A2", spiral_count=2, dual_source=True),
        make_ct_dose_sr(seed=3, patient_id="D3", accession_number="A3", quirks=True, spiral_count=2),
        make_ct_dose_sr(seed=4, patient_id="D4", accession_number="A4", charset="ISO_IR 192",
                        series_description="Radiation Dose Information"),
        make_ct_dose_sr(seed=5, patient_id="D5", accession_number="A5", enhanced_sr=True, quirks=True,
                        series_description="Dose Info"),
    ]
    truths = []
    for ds, truth in reports:
        ids["dose"].append(upload(source, ds))
        if truth["series_description"] == "Dose Record":
            ids["dose_record"].append(sop_id(ds))
        truths.append(truth)
    again = resent(reports[1][0])
    ids["dose"].append(upload(source, again))
    ids["dose_record"].append(sop_id(again))
    truths.append(reports[1][1])  # same events: must be counted once
    ids["other"].append(upload(source, make_plain_sr(seed=9)))
    return {"ids": ids, "truths": truths, "long_text": long_text, "reports": reports}


def expected_dose_by_protocol(truths: list[dict]) -> dict[str, dict]:
    events = {e["irradiation_event_uid"]: e for t in truths for e in t["events"]}  # dedup IrradiationEventUID
    by: dict[str, list[dict]] = {}
    for event in events.values():
        by.setdefault(event["acquisition_protocol"], []).append(event)
    out = {}
    for protocol, group in by.items():
        ctdi = [e["ctdivol"] for e in group if e["ctdivol"] is not None]
        dlp = sorted(e["dlp"] for e in group if e["dlp"] is not None)
        out[protocol] = {
            "count": len(group),
            "avg": statistics.fmean(ctdi) if ctdi else None,
            "median": dlp[len(dlp) // 2] if dlp else None,  # Splunk: the higher middle value
        }
    return out


def test_every_instance_is_indexed_once_and_dose_reports_are_searchable(source, splunk):
    seeded = seed_archive(source)
    ids, truths = seeded["ids"], seeded["truths"]
    everything = {i for group in ids.values() for i in group}
    src, idx = source.url_with_credentials, splunk.url(index="dicom")

    summary = replicate_tags(src, idx)

    distinct_events = {e["irradiation_event_uid"] for t in truths for e in t["events"]}
    events_expected = 2 * len(truths) + len(distinct_events) + len(ids["images"]) + len(ids["other"])
    assert summary.as_dict() | {"seconds": 0, "instances_per_second": 0} == {
        "dry_run": False, "candidates": len(everything), "already_indexed": 0, "to_send": len(everything),
        "sent": len(everything), "dose_reports": len(truths),
        "irradiation_events": len(distinct_events), "events_sent": events_expected,
        "failed": 0, "vanished": 0, "failures": [], "seconds": 0, "instances_per_second": 0,
        "incomplete_reports": 0,
    }
    assert len(splunk.events) == events_expected
    counts = search(splunk, "index=dicom RecordType=instance | stats count by OrthancInstanceID")
    assert {row["OrthancInstanceID"]: row["count"] for row in counts} == dict.fromkeys(everything, "1")
    keys = [row["RecordKey"] for row in search(splunk, "index=dicom | table RecordKey")]
    assert len(keys) == len(set(keys)) == events_expected

    # a rerun sends nothing at all
    posts = len([r for r in splunk.requests if r.path == "/services/collector/event"])
    again = replicate_tags(src, idx)
    assert (again.candidates, again.already_indexed, again.sent, again.events_sent) == (
        len(everything), len(everything), 0, 0)
    assert len(splunk.events) == events_expected
    assert len([r for r in splunk.requests if r.path == "/services/collector/event"]) == posts

    # SeriesDescription="Dose Record" finds exactly the dose reports written with it
    dose_record = search(
        splunk, 'index=dicom SeriesDescription="Dose Record" RecordType=dose_report | table OrthancInstanceID'
    )
    assert sorted(r["OrthancInstanceID"] for r in dose_record) == sorted(ids["dose_record"])
    as_instances = search(splunk, 'index=dicom SeriesDescription="Dose Record" RecordType=instance | table SOPClassUID')
    assert len(as_instances) == len(ids["dose_record"])

    # dose by protocol: the generator's ground truth, resent events indexed once (no dedup needed)
    (row,) = search(splunk, "index=dicom RecordType=irradiation_event | stats count")
    assert int(row["count"]) == len(distinct_events)
    rows = search(splunk, "index=dicom RecordType=irradiation_event "
                          "| stats avg(CTDIvol) median(DLP) count by AcquisitionProtocol")
    got = {r["AcquisitionProtocol"]: r for r in rows}
    expected = expected_dose_by_protocol(truths)
    assert set(got) == set(expected) and "Thorax Übersicht \u2013 胸部 ✓ Ωμέγα" in got
    for protocol, want in expected.items():
        assert int(got[protocol]["count"]) == want["count"], protocol
        assert float(got[protocol]["avg(CTDIvol)"]) == pytest.approx(want["avg"]), protocol
        assert float(got[protocol]["median(DLP)"]) == pytest.approx(want["median"]), protocol

    # dose report header values and units, straight from the SR
    report = search(
        splunk, 'index=dicom RecordType=dose_report AccessionNumber="A3" | table DLPTotal DLPTotal_unit NumberOfEvents'
    )
    assert report == [{"DLPTotal": str(truths[2]["dlp_total"]), "DLPTotal_unit": "mGy.cm",
                       "NumberOfEvents": str(truths[2]["number_of_events"])}]


def test_values_over_256_characters_arrive_whole(source, splunk):
    seeded = seed_archive(source)
    image, sr = seeded["ids"]["images"][0], seeded["ids"]["dose"][0]
    simplified = requests.get(f"{source.url}/instances/{image}/simplified-tags", auth=source.auth, timeout=30).json()
    assert simplified["ImageComments"] is None  # what Orthanc's simplified tags would have given

    replicate_tags(source.url_with_credentials, splunk.url(index="dicom"))

    (row,) = search(splunk, f"index=dicom RecordType=instance OrthancInstanceID={image} | table ImageComments")
    assert row["ImageComments"] == seeded["long_text"]
    (row,) = search(splunk, f"index=dicom RecordType=dose_report OrthancInstanceID={sr} | table Comment")
    assert row["Comment"] == seeded["truths"][0]["comment"] and len(row["Comment"]) > 256


def test_instance_record_carries_orthanc_ids_source_name_and_study_time(source, splunk):
    item = next(generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=1))
    instance = upload(source, item.dataset)
    name = requests.get(f"{source.url}/system", auth=source.auth, timeout=30).json()["Name"]
    replicate_tags(source.url_with_credentials, splunk.url(index="dicom"))

    (event,) = splunk.events
    assert event.sourcetype == "_json" and event.index == "dicom" and event.source == f"orthanc:{name}"
    study_moment = datetime.strptime(item.dataset.StudyDate + item.dataset.StudyTime, "%Y%m%d%H%M%S")
    assert event.time == study_moment.replace(tzinfo=timezone.utc).timestamp()
    fields = event.fields
    assert (fields["OrthancInstanceID"], fields["OrthancSeriesID"], fields["OrthancStudyID"]) == (
        instance, item.series_orthanc_id, item.study_orthanc_id)
    patients = requests.get(f"{source.url}/patients", auth=source.auth, timeout=30).json()
    assert [fields["OrthancPatientID"]] == patients
    assert fields["OrthancSource"] == name and fields["RecordKey"] == f"{instance}:instance"
    assert fields["PatientID"] == item.patient_id and fields["Modality"] == item.modality
    assert "PixelData" not in fields and fields["ReceptionDate"].startswith(str(date.today().year))


def test_a_report_with_a_broken_item_is_indexed_whole_with_its_warning(source, splunk):
    good, _ = make_ct_dose_sr(seed=7, patient_id="GOOD")
    bad, bad_truth = make_ct_dose_sr(seed=8, patient_id="BAD")
    spiral = [i for i in bad.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "113819"][1]
    del spiral.ContentSequence[0].ValueType  # Orthanc stores it; the content tree is broken
    good_id, bad_id = upload(source, good), upload(source, bad)
    images = [upload(source, i.dataset) for i in generate_studies(patients=1, studies_per_patient=1,
                                                                  series_per_study=1, instances_per_series=3)]

    summary = replicate_tags(source.url_with_credentials, splunk.url(index="dicom"))

    assert (summary.candidates, summary.sent, summary.failed, summary.dose_reports) == (5, 5, 0, 2)
    indexed = {
        r["OrthancInstanceID"]
        for r in search(splunk, "index=dicom | dedup OrthancInstanceID | table OrthancInstanceID")
    }
    assert indexed == {good_id, bad_id, *images}
    rows = search(
        splunk,
        f"index=dicom OrthancInstanceID={bad_id} RecordType=irradiation_event "
        "| table IrradiationEventUID ParseWarnings",
    )
    assert sorted(r["IrradiationEventUID"] for r in rows) == sorted(
        e["irradiation_event_uid"] for e in bad_truth["events"]
    )
    (warned,) = [r for r in rows if "ParseWarnings" in r]
    assert warned["ParseWarnings"] == "1.13.1: has no ValueType; skipped"
    (report,) = search(
        splunk, f"index=dicom OrthancInstanceID={bad_id} RecordType=dose_report | table ParseWarningCount"
    )
    assert report["ParseWarningCount"] == "1"

    again = replicate_tags(source.url_with_credentials, splunk.url(index="dicom"), raise_on_failure=False)
    assert (again.already_indexed, again.sent, again.failed) == (5, 0, 0)


def test_dose_records_of_a_cut_short_send_are_not_sent_twice(source, splunk):
    ds, truth = make_ct_dose_sr(seed=11, spiral_count=2)
    instance = upload(source, ds)
    replicate_tags(source.url_with_credentials, splunk.url(index="dicom"))
    with splunk.state.lock:  # as if the send had stopped after the dose records
        splunk.state.events = [e for e in splunk.state.events if e.fields.get("RecordType") != "instance"]

    summary = replicate_tags(source.url_with_credentials, splunk.url(index="dicom"))

    assert (summary.sent, summary.events_sent) == (1, 1)
    keys = sorted(e.fields["RecordKey"] for e in splunk.events)
    assert keys == sorted([f"{instance}:instance", f"{instance}:dose_report",
                           *(f"irradiation_event:{e['irradiation_event_uid']}" for e in truth["events"])])


def test_windows_dry_run_and_batches(source, splunk):
    items = [upload(source, i.dataset) for i in generate_studies(
        patients=2, studies_per_patient=2, series_per_study=1, instances_per_series=2,
        start_date=date(2019, 1, 1), end_date=date(2019, 12, 31))]
    src, idx = source.url_with_credentials, splunk.url(index="dicom")

    past = datetime.now(timezone.utc) - timedelta(days=2)
    assert replicate_tags(src, idx, since=past - timedelta(days=1), until=past).candidates == 0
    dry = replicate_tags(src, idx, study_date=(date(2019, 7, 1), None), dry_run=True)
    assert (dry.candidates, dry.to_send, dry.sent, len(splunk.events)) == (4, 4, 0, 0)

    summary = replicate_tags(src, idx, window=Window.study_date(date(2019, 7, 1), date(2019, 12, 31)))
    assert summary.sent == 4 and len(splunk.events) == 4

    # mapped batches: loose instances and a vanished study, small chunks, index/sourcetype overrides
    hook, splunk_hook = OrthancHook.from_url(src), SplunkHook.from_url(idx)
    batch = Candidates(studies=["0" * 8 + "-" + "0" * 8 + "-" + "0" * 8 + "-" + "0" * 8 + "-" + "0" * 8],
                       instances=items)
    part = index_candidates(hook, splunk_hook, batch, index="main", sourcetype="dicom:tags", chunk=3)
    assert (part.candidates, part.vanished, part.sent, part.already_indexed) == (8, 1, 8, 0)
    assert {e.sourcetype for e in splunk.events if e.index == "main"} == {"dicom:tags"}
    again = index_candidates(hook, splunk_hook, batch, index="main", sourcetype="dicom:tags", chunk=3)
    assert (again.sent, again.already_indexed) == (0, 8)


def test_a_large_instance_is_read_only_up_to_its_pixel_data(source, splunk):
    item = next(generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=1,
                                 rows=1024, columns=1024, frames=3, seed=3))  # ~6 MB: streamed, not read whole
    item.dataset.ImageComments = ("after the header " * 40).strip()
    big = upload(source, item.dataset)
    small = upload(source, next(generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                                                 instances_per_series=1, seed=4)).dataset)

    summary = replicate_tags(source.url_with_credentials, splunk.url(index="dicom"))

    assert (summary.sent, summary.failed) == (2, 0)
    fields = {e.fields["OrthancInstanceID"]: e.fields for e in splunk.events}
    assert fields[big]["NumberOfFrames"] == "3" and fields[big]["Rows"] == "1024"
    assert fields[big]["ImageComments"] == item.dataset.ImageComments and "PixelData" not in fields[big]
    assert fields[small]["Rows"] == "64"  # the connection dropped after the large file is not reused broken


@pytest.mark.parametrize(("count", "pages"), [(1050, 1), (1099, 1), (1100, 2), (2150, 3), (150, 1)])
@pytest.mark.parametrize("held_every", [3, 1, 0])
def test_the_duplicate_check_asks_a_page_at_a_time_and_a_small_remainder_joins_the_last_page(count, pages, held_every):
    """Each tstats search is a Splunk search job: 1,050 keys are one page, not 1,000 and then 50.

    A page first counts the keys held (one row): none or all (a first run, a rerun) settle it in
    that one search; only a page partly held asks for its keys' rows in a second search.
    """
    from copydicom_provider.jobs.replicate_tags import CHUNK, _missing_from_index
    from copydicom_provider.jobs.summary import Progress, TagsSummary

    ids = [orthanc_id(f"patient{n}", f"1.2.{n}") for n in range(count)]
    held = set(ids[::held_every]) if held_every else set()
    with SplunkTestServer() as server:
        for instance_id in held:
            server.add_event({"RecordType": "instance"}, time_=1.0e9, index="dicom",
                             fields={"copydicom_key": f"{instance_id}:instance"})
        summary = TagsSummary()
        missing = [i for part in _missing_from_index(SplunkHook.from_url(server.url(index="dicom")), "dicom", ids,
                                                     CHUNK, summary, Progress(count, label="indexed"))
                   for i in part]
        asked = [r for r in server.requests if r.path == "/services/search/jobs/export"]
    assert missing == [i for i in ids if i not in held]
    assert (summary.already_indexed, summary.to_send) == (len(held), count - len(held))
    assert len(asked) == pages * (2 if held_every == 3 else 1)
