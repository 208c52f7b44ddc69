"""Incomplete dose reports behind a real Orthanc: counted, the task fails, what was read is sent once.

Two ways a report holds less than it should: its file was cut short on Orthanc's disk (Orthanc
serves what is left, with a 200), and it declares more irradiation events than it holds.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pydicom.dataset import Dataset

from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.orthanc_pool import LeanHttp
from copydicom_provider.jobs.replicate_tags import TagsFailed, replicate_tags
from copydicom_provider.records import fetch, stream
from copydicom_provider.records.fetch import STORED_SIZE, fetch_instance_records, instances_metadata
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.dose_sr_quirks import declare_events
from copydicom_provider.testing.splunk import SplunkTestServer

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def splunk() -> Iterator[SplunkTestServer]:
    with SplunkTestServer() as server:
        yield server


@pytest.fixture
def orthanc(orthanc_factory):
    # no storage cache: Orthanc reads every file from its disk, as after a restart
    return orthanc_factory("source", extra_config={"MaximumStorageCacheSize": 0})


def upload(server, ds: Dataset) -> str:
    reply = requests.post(f"{server.url}/instances", data=to_bytes(ds), auth=server.auth, timeout=30)
    reply.raise_for_status()
    return reply.json()["ID"]


def stored_file(server, instance_id: str) -> Path:
    info = requests.get(f"{server.url}/instances/{instance_id}/attachments/dicom/info", auth=server.auth,
                        timeout=30).json()
    uuid = info["Uuid"]
    return server.directory / "storage" / uuid[:2] / uuid[2:4] / uuid


def records(splunk: SplunkTestServer) -> list[dict]:
    """The records the index holds, as sent (typed JSON)."""
    return [json.loads(event.raw) for event in splunk.events]


def keys(splunk: SplunkTestServer) -> Counter:
    return Counter(record["RecordKey"] for record in records(splunk))


def run(server, splunk: SplunkTestServer):
    """The job, as a task runs it; returns the summary and whether it failed."""
    try:
        return replicate_tags(server.url_with_credentials, splunk.url(index="dicom")), False
    except TagsFailed as failed:
        return failed.summary, True


def test_a_report_cut_short_on_disk_is_counted_fails_the_task_and_is_sent_once(orthanc, splunk):
    whole, _ = make_ct_dose_sr(seed=11, patient_id="WHOLE", accession_number="W1")
    cut, truth = make_ct_dose_sr(seed=12, patient_id="CUT", accession_number="C1", spiral_count=8)
    whole_id, cut_id = upload(orthanc, whole), upload(orthanc, cut)
    data = to_bytes(cut)
    path = stored_file(orthanc, cut_id)
    assert path.read_bytes() == data
    path.write_bytes(data[: len(data) // 2])  # the disk behind Orthanc loses the second half

    summary, failed = run(orthanc, splunk)

    assert failed and summary.incomplete_reports == 1 and summary.failed == 0
    assert summary.sent == 1 and summary.dose_reports == 2  # the whole report's instance; both reports' records
    (instance, reason), = summary.failures
    assert instance == cut_id and reason.startswith("incomplete dose report: declares 9 irradiation events, holds ")
    assert reason.endswith(f"; file ends early: {len(data) // 2} of the {len(data)} bytes Orthanc stored; "
                           "its last event read is not sent, it may be cut short")
    sent = keys(splunk)
    assert set(sent.values()) == {1}
    assert f"{whole_id}:instance" in sent and f"{cut_id}:instance" not in sent
    (report,) = [r for r in records(splunk) if r["RecordKey"] == f"{cut_id}:dose_report:incomplete"]
    assert report["ReportIncomplete"] == reason.removeprefix("incomplete dose report: ")
    assert report["NumberOfEvents"] == 9
    read = [r for r in records(splunk) if r["RecordType"] == "irradiation_event" and r["OrthancInstanceID"] == cut_id]
    assert 0 < len(read) == report["EventCount"] - 1 < truth["number_of_events"] == 9

    # a rerun reads it again, sends nothing twice, and fails again: the report is still not whole
    events = len(splunk.events)
    again, failed = run(orthanc, splunk)
    assert failed and again.incomplete_reports == 1 and again.events_sent == 0 and again.sent == 0
    assert len(splunk.events) == events

    # once the whole file is back, the rest is sent (each record once) and the task succeeds
    path.write_bytes(data)
    healed, failed = run(orthanc, splunk)
    assert not failed and healed.incomplete_reports == 0 and healed.sent == 1
    assert healed.events_sent == 1 + 1 + 9 - len(read)  # dose report, instance, the events not read before
    sent = keys(splunk)
    assert set(sent.values()) == {1} and {f"{cut_id}:instance", f"{cut_id}:dose_report"} <= set(sent)
    uids = [r["IrradiationEventUID"] for r in records(splunk)
            if r["RecordType"] == "irradiation_event" and r["OrthancInstanceID"] == cut_id]
    assert sorted(uids) == sorted(e["irradiation_event_uid"] for e in truth["events"])  # each event once


def test_a_report_that_declares_more_events_than_it_holds_is_counted_and_fails_the_task(orthanc, splunk):
    ds, truth = make_ct_dose_sr(seed=13, patient_id="SHORT", accession_number="S1", spiral_count=2)
    declare_events(ds, 12)
    instance_id = upload(orthanc, ds)

    summary, failed = run(orthanc, splunk)

    assert failed and summary.incomplete_reports == 1 and summary.failed == 0
    assert summary.failures == [[instance_id, "incomplete dose report: declares 12 irradiation events, holds 3"]]
    assert "1 dose report(s) incomplete" in summary.failure_text()
    report = next(r for r in records(splunk) if r["RecordType"] == "dose_report")
    assert (report["RecordKey"], report["ReportIncomplete"], report["EventCount"]) == (
        f"{instance_id}:dose_report:incomplete", "declares 12 irradiation events, holds 3", 3)
    assert truth["number_of_events"] == 3
    assert len([r for r in records(splunk) if r["RecordType"] == "irradiation_event"]) == 3
    events = len(splunk.events)
    again, failed = run(orthanc, splunk)
    assert failed and again.incomplete_reports == 1 and len(splunk.events) == events


def test_the_stored_size_comes_from_the_batch_reply_not_from_a_request_per_report(orthanc, monkeypatch):
    ds, _ = make_ct_dose_sr(seed=14, patient_id="SIZE", accession_number="Z1")
    data = to_bytes(ds)
    instance_id = upload(orthanc, ds)
    hook = OrthancHook.from_url(orthanc.url_with_credentials)
    known = instances_metadata(hook, [instance_id])[instance_id]
    assert known[STORED_SIZE] == str(len(data)) and known["ReceptionDate"]
    asked: list[str] = []
    real_get, real_request = LeanHttp.get, OrthancHook.request
    monkeypatch.setattr(LeanHttp, "get", lambda self, endpoint, **kw: asked.append(endpoint) or real_get(
        self, endpoint, **kw))
    monkeypatch.setattr(OrthancHook, "request", lambda self, method, endpoint, **kw: asked.append(endpoint) or
                        real_request(self, method, endpoint, **kw))

    whole = fetch_instance_records(hook, instance_id, "source", metadata=known)
    assert not whole.incomplete and asked == [f"/instances/{instance_id}/file"]  # no size request of its own

    asked.clear()  # the batch's size is the one compared: one byte more stored than served is a cut file
    cut = fetch_instance_records(hook, instance_id, "source", metadata={**known, STORED_SIZE: str(len(data) + 1)})
    assert cut.incomplete.startswith(f"file ends early: {len(data)} of the {len(data) + 1} bytes Orthanc stored")
    assert asked == [f"/instances/{instance_id}/file"]

    asked.clear()  # without a batch reply, Orthanc is asked for the size
    alone = fetch_instance_records(hook, instance_id, "source", metadata={"ReceptionDate": known["ReceptionDate"]})
    assert not alone.incomplete and asked == [f"/instances/{instance_id}/file",
                                              f"/instances/{instance_id}/attachments/dicom/size"]


def test_with_compressed_storage_a_whole_report_is_whole_and_a_cut_file_fails_until_restored(orthanc_factory,
                                                                                            splunk):
    """Orthanc's stored size is the uncompressed one (what it serves); a cut compressed file is refused (500)."""
    server = orthanc_factory("compressed", extra_config={"StorageCompression": True, "MaximumStorageCacheSize": 0})
    whole, _ = make_ct_dose_sr(seed=15, patient_id="WHOLE", accession_number="W2")
    cut, truth = make_ct_dose_sr(seed=16, patient_id="CUT", accession_number="C2", spiral_count=4)
    whole_id, cut_id = upload(server, whole), upload(server, cut)
    path = stored_file(server, cut_id)
    stored = path.read_bytes()
    assert len(stored) < len(to_bytes(cut))  # compressed on the disk
    path.write_bytes(stored[: len(stored) // 2])

    summary, failed = run(server, splunk)

    assert failed and summary.failed == 1 and summary.incomplete_reports == 0 and summary.sent == 1
    (instance, reason), = summary.failures
    assert instance == cut_id and "500" in reason
    assert {r["OrthancInstanceID"] for r in records(splunk)} == {whole_id}
    assert not any("ReportIncomplete" in r for r in records(splunk))

    path.write_bytes(stored)  # restored from a backup: the rest is sent, each record once
    healed, failed = run(server, splunk)
    assert not failed and healed.sent == 1 and healed.already_indexed == 1
    sent = keys(splunk)
    assert set(sent.values()) == {1} and f"{cut_id}:dose_report" in sent
    uids = [r["IrradiationEventUID"] for r in records(splunk)
            if r["RecordType"] == "irradiation_event" and r["OrthancInstanceID"] == cut_id]
    assert sorted(uids) == sorted(e["irradiation_event_uid"] for e in truth["events"])


def test_a_dose_report_too_large_to_read_whole_is_checked_as_it_streams(orthanc, monkeypatch):
    """Past ``WHOLE_LIMIT`` the file streams; a dose report has no pixel data, so it is read to its end."""
    ds, _ = make_ct_dose_sr(seed=17, patient_id="BIG", accession_number="B1", spiral_count=6)
    data = to_bytes(ds)
    instance_id = upload(orthanc, ds)
    monkeypatch.setattr(stream, "WHOLE_LIMIT", 1024)
    monkeypatch.setattr(fetch, "WHOLE_LIMIT", 1024)  # the lean GET's limit: it gives up, the stream reads
    hook = OrthancHook.from_url(orthanc.url_with_credentials)
    assert stream.read_header_sized(hook, instance_id)[1] == len(data) > 1024

    whole = fetch_instance_records(hook, instance_id, "source", metadata=instances_metadata(hook, [instance_id])[
        instance_id])
    assert not whole.incomplete and whole.irradiation_events == 7
    path = stored_file(orthanc, instance_id)
    path.write_bytes(data[: len(data) * 2 // 3])
    cut = fetch_instance_records(hook, instance_id, "source", metadata=instances_metadata(hook, [instance_id])[
        instance_id])
    assert f"file ends early: {len(data) * 2 // 3} of the {len(data)} bytes Orthanc stored" in cut.incomplete
