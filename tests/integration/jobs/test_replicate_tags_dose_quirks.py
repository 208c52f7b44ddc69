"""Vendor quirks of dose reports, end to end: real Orthanc -> replicate tags -> the Splunk stand-in.

Each quirk of issue 12 is one test here; the searches are those docs/dose-records.md documents.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from pydicom.dataset import Dataset

from copydicom_provider.hooks.splunk import SplunkHook
from copydicom_provider.jobs.replicate_tags import replicate_tags
from copydicom_provider.records.size import DEFAULT_MAX_RECORD_BYTES
from copydicom_provider.testing.dose_sr import (
    ODD_ITEMS,
    cumulative_ct_reports,
    in_another_study,
    make_ct_dose_sr,
    to_bytes,
)
from copydicom_provider.testing.dose_sr_projection import make_fluoro_dose_sr
from copydicom_provider.testing.splunk import SplunkTestServer

pytestmark = [pytest.mark.timeout(120), pytest.mark.filterwarnings("ignore:Invalid value for VR")]
SPLUNK_TRUNCATE = 10_000
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def splunk() -> Iterator[SplunkTestServer]:
    with SplunkTestServer() as server:
        yield server


def upload(server, ds: Dataset) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = to_bytes(ds)
    reply = requests.post(f"{server.url}/instances", data=data, auth=server.auth, timeout=60)
    reply.raise_for_status()
    return reply.json()["ID"]


def search(server: SplunkTestServer, query: str) -> list[dict]:
    return list(SplunkHook.from_url(server.url(index="dicom")).search(query, earliest_time="0"))


def index(source, splunk: SplunkTestServer, **kwargs):
    return replicate_tags(source.url_with_credentials, splunk.url(index="dicom"), **kwargs)


def raw_sizes(splunk: SplunkTestServer) -> list[int]:
    return [len(e.raw.encode("utf-8")) for e in splunk.events]


def event_count(splunk: SplunkTestServer) -> int:
    (row,) = search(splunk, "index=dicom RecordType=irradiation_event | stats count")
    return int(row["count"])


def dsum(values) -> float:
    return float(sum((Decimal(str(v)) for v in values), Decimal(0)))


# --- 1. never lose a report to one bad item ----------------------------------------------------


def test_odd_items_cost_only_themselves_and_every_record_is_indexed(source, splunk):
    """Items without codes, text in a NUM, empty measured values, a multi-valued NUM, a bad DATETIME."""
    ds, truth = make_ct_dose_sr(seed=31, patient_id="ODD", accession_number="ODD1", odd_items=True,
                                spiral_count=2)
    instance = upload(source, ds)

    summary = index(source, splunk)

    assert (summary.sent, summary.failed, summary.dose_reports) == (1, 0, 1)
    assert summary.irradiation_events == truth["number_of_events"]
    rows = search(splunk, f"index=dicom OrthancInstanceID={instance} | table RecordType")
    assert sorted(r["RecordType"] for r in rows) == sorted(
        ["instance", "dose_report", *["irradiation_event"] * truth["number_of_events"]])
    (report,) = search(splunk, "index=dicom RecordType=dose_report | table ParseWarnings ParseWarningCount DLPTotal")
    assert report["ParseWarningCount"] == "4" and float(report["DLPTotal"]) == truth["dlp_total"]
    for problem in truth["warnings"]["report"]:
        assert problem in report["ParseWarnings"]
    spiral_uid = truth["events"][1]["irradiation_event_uid"]
    (spiral,) = search(splunk, f'index=dicom RecordType=irradiation_event IrradiationEventUID="{spiral_uid}" '
                               "| table ParseWarnings CTDIvol DLP ExposedRange TubeCurrentPerRotation_count")
    for problem in truth["warnings"]["event"]:
        assert problem in spiral["ParseWarnings"]
    assert float(spiral["CTDIvol"]) == truth["events"][1]["ctdivol"]
    assert "ExposedRange" not in spiral  # the empty measured value: absent, never 0
    assert spiral["TubeCurrentPerRotation_count"] == "5"
    (found,) = search(splunk, "index=dicom RecordType=irradiation_event ParseWarnings=* | stats count")
    assert found["count"] == "1"


ODD_EFFECT = {  # quirk -> (record holding the warning or None, key absent, key -> value present)
    "no-concept-code": ("dose_report", "DoseCheckStatus", {}),
    "bad-datetime": ("dose_report", "EndOfXRayIrradiation", {"StartOfXRayIrradiation": "2024-03-14T09:30:00"}),
    "empty-concept-code": ("spiral", "ScanOptions", {}),
    "text-in-num": ("spiral", "NoiseIndex", {}),
    "empty-measured-value": (None, "ExposedRange", {}),
    "multi-valued-num": (None, "TubeCurrentPerRotation{}", {  # a scalar, the series beside it
        "TubeCurrentPerRotation": "220", "TubeCurrentPerRotation_min": "200",
        "TubeCurrentPerRotation_max": "240", "TubeCurrentPerRotation_count": "5",
        "TubeCurrentPerRotation_series{}": ["200", "210", "220", "230", "240"]}),
}


@pytest.mark.parametrize("quirk", ODD_ITEMS)
def test_each_odd_item_costs_only_itself(source, splunk, quirk):
    ds, truth = make_ct_dose_sr(seed=30, patient_id="ODD1", odd_items=[quirk], spiral_count=2)
    instance = upload(source, ds)

    summary = index(source, splunk)

    assert (summary.sent, summary.failed, summary.irradiation_events) == (1, 0, truth["number_of_events"])
    (report,) = search(splunk, f"index=dicom RecordType=dose_report OrthancInstanceID={instance}")
    spiral_uid = truth["events"][1]["irradiation_event_uid"]
    (spiral,) = search(splunk, f'index=dicom RecordType=irradiation_event IrradiationEventUID="{spiral_uid}"')
    (row,) = search(splunk, f"index=dicom RecordType=instance OrthancInstanceID={instance} | table SOPInstanceUID")
    assert row["SOPInstanceUID"] == truth["sop_instance_uid"]
    where, absent, present = ODD_EFFECT[quirk]
    warned = {"dose_report": report, "spiral": spiral}.get(where)
    problems = truth["warnings"]["report"] + truth["warnings"]["event"]
    if warned is None:
        assert problems == [] and "ParseWarnings" not in report and "ParseWarnings" not in spiral
    else:
        (problem,) = problems
        assert problem in warned["ParseWarnings"] and report["ParseWarningCount"] == "1"
    assert absent not in report and absent not in spiral
    assert {k: spiral.get(k, report.get(k)) for k in present} == present
    assert float(spiral["DLP"]) == truth["events"][1]["dlp"] and float(report["DLPTotal"]) == truth["dlp_total"]


# --- 2. records inside Splunk's limits ---------------------------------------------------------


def test_a_400_event_fluoroscopy_report_indexes_completely_under_the_size_cap(source, splunk):
    ds, truth = make_fluoro_dose_sr(seed=32, events=400, long_series_event=7, long_series_pulses=2000)
    instance = upload(source, ds)

    summary = index(source, splunk)

    assert (summary.sent, summary.failed, summary.irradiation_events) == (1, 0, 400)
    assert max(raw_sizes(splunk)) <= DEFAULT_MAX_RECORD_BYTES < SPLUNK_TRUNCATE
    assert event_count(splunk) == 400
    (totals,) = search(splunk, "index=dicom RecordType=irradiation_event | stats sum(DoseAreaProduct) as dap")
    assert float(totals["dap"]) == pytest.approx(truth["dap_total"])
    (instance_row,) = search(splunk, f"index=dicom RecordType=instance OrthancInstanceID={instance} "
                                     "| table ContentItemsOmitted ContentSequence{}.ValueType")
    assert instance_row == {"ContentItemsOmitted": str(len(ds.ContentSequence))}
    long_uid = truth["events"][6]["irradiation_event_uid"]
    (long_event,) = search(splunk, f'index=dicom IrradiationEventUID="{long_uid}" '
                                   "| table KVP KVP_min KVP_max KVP_count OmittedForSize KVP_series{}")
    kvp = truth["events"][6]["kvp"]
    assert float(long_event["KVP"]) == pytest.approx(kvp["mean"])
    assert (long_event["KVP_min"], long_event["KVP_max"], long_event["KVP_count"]) == (
        str(kvp["min"]), str(kvp["max"]), "2000")
    shed = long_event["OmittedForSize"].split(", ")
    assert shed and all(key.endswith("_series") for key in shed)  # the series go first, summaries stay
    short_uid = truth["events"][0]["irradiation_event_uid"]
    (short_event,) = search(
        splunk, f'index=dicom IrradiationEventUID="{short_uid}" | table KVP_series{{}} OmittedForSize'
    )
    assert "OmittedForSize" not in short_event and len(short_event["KVP_series{}"]) == truth["events"][0]["pulses"]


def test_the_size_cap_is_configurable(source, splunk, monkeypatch):
    ds, truth = make_ct_dose_sr(seed=33, patient_id="CAP", long_comment=True, dual_source=True, spiral_count=2)
    upload(source, ds)
    monkeypatch.setenv("COPYDICOM_MAX_RECORD_BYTES", "2500")

    summary = index(source, splunk)

    assert (summary.sent, summary.failed) == (1, 0)
    assert max(raw_sizes(splunk)) <= 2500
    (report,) = search(splunk, "index=dicom RecordType=dose_report | table OmittedForSize DLPTotal StudyInstanceUID")
    assert report["StudyInstanceUID"] == truth["study_instance_uid"] and report["OmittedForSize"]
    upload(source, make_ct_dose_sr(seed=33, patient_id="CAP2")[0])
    monkeypatch.setenv("COPYDICOM_MAX_RECORD_BYTES", "500")  # a bad setting fails the run, not each instance
    with pytest.raises(ValueError, match="the record size cap must be at least 2000 bytes, not 500"):
        index(source, splunk)
    assert len(splunk.events) == 5


# --- 3. one record per irradiation event -------------------------------------------------------


def test_cumulative_reports_add_only_new_events_and_totals_come_out_right(source, splunk):
    versions = cumulative_ct_reports(3, seed=34, patient_id="CUM", accession_number="CUM1")
    for ds, _ in versions:  # the scanner sends version 1, 2, 3 during the exam; each is indexed
        upload(source, ds)
        index(source, splunk)
    final = versions[-1][1]
    study = final["study_instance_uid"]

    assert event_count(splunk) == final["number_of_events"] == 4
    reports = search(splunk, "index=dicom RecordType=dose_report | table EventCount DLPTotal")
    assert sorted(int(r["EventCount"]) for r in reports) == [2, 3, 4]
    # per study: the most complete report of each exam, summed over exams (documented search)
    (row,) = search(splunk, "index=dicom RecordType=dose_report "
                            "| stats max(DLPTotal) as DLPTotal by StudyInstanceUID FirstIrradiationEventUID "
                            "| stats sum(DLPTotal) as DLPTotal by StudyInstanceUID")
    assert row["StudyInstanceUID"] == study and float(row["DLPTotal"]) == pytest.approx(final["dlp_total"])
    # the same total from the events: each indexed once, no dedup needed
    (row,) = search(splunk, "index=dicom RecordType=irradiation_event | stats sum(DLP) as DLP by StudyInstanceUID")
    assert float(row["DLP"]) == pytest.approx(dsum(e["dlp"] for e in final["events"] if e["dlp"] is not None))


def test_cumulative_versions_and_a_resend_indexed_in_one_run_count_each_event_once(source, splunk):
    versions = cumulative_ct_reports(3, seed=35, patient_id="CUM2", accession_number="CUM2")
    for ds, _ in versions:
        upload(source, ds)
    resend = make_ct_dose_sr(seed=35, patient_id="CUM2", accession_number="CUM2", spiral_count=3,
                             report_number=9)  # same events again, one more SOP instance
    upload(source, resend[0])

    summary = index(source, splunk)

    assert (summary.sent, summary.dose_reports, summary.irradiation_events) == (4, 4, 4)
    assert event_count(splunk) == 4
    keys = [row["RecordKey"] for row in search(splunk, "index=dicom RecordType=irradiation_event | table RecordKey")]
    assert sorted(keys) == sorted(f"irradiation_event:{e['irradiation_event_uid']}" for e in versions[-1][1]["events"])
    again = index(source, splunk)
    assert (again.sent, again.events_sent) == (0, 0)


def test_the_same_sr_in_two_studies_indexes_its_events_once(source, splunk):
    ds, truth = make_ct_dose_sr(seed=36, patient_id="TWO", accession_number="TWO1", spiral_count=2)
    first = upload(source, ds)
    index(source, splunk)
    other = in_another_study(ds, accession_number="TWO2")
    second = upload(source, other)
    assert second != first

    summary = index(source, splunk)

    assert (summary.sent, summary.dose_reports, summary.irradiation_events) == (1, 1, 0)
    assert event_count(splunk) == truth["number_of_events"]
    per_study = search(splunk, "index=dicom RecordType=dose_report "
                               "| stats max(DLPTotal) as DLPTotal by StudyInstanceUID FirstIrradiationEventUID "
                               "| stats sum(DLPTotal) as DLPTotal by StudyInstanceUID")
    assert {r["StudyInstanceUID"] for r in per_study} == {ds.StudyInstanceUID, other.StudyInstanceUID}
    assert all(float(r["DLPTotal"]) == pytest.approx(truth["dlp_total"]) for r in per_study)
    # over all studies: one exam, counted once
    (overall,) = search(splunk, "index=dicom RecordType=dose_report "
                                "| stats max(DLPTotal) as DLPTotal by FirstIrradiationEventUID "
                                "| stats sum(DLPTotal) as DLPTotal count(FirstIrradiationEventUID) as exams")
    assert float(overall["DLPTotal"]) == pytest.approx(truth["dlp_total"]) and overall["exams"] == "1"


# --- 4. every numeric key a scalar -------------------------------------------------------------


def test_dual_source_with_a_missing_value_keeps_every_event_in_averages(source, splunk):
    ds, truth = make_ct_dose_sr(seed=37, patient_id="DUAL", accession_number="DUAL1", spiral_count=2,
                                dual_source=True, missing_source_value=True)
    upload(source, ds)
    index(source, splunk)

    (row,) = search(splunk, "index=dicom RecordType=irradiation_event "
                            "| stats count(KVP) as with_kvp count(IrradiationEventUID) as events avg(KVP) as kvp "
                            "count(KVP_SourceB) as b")
    assert row["with_kvp"] == row["events"] == str(truth["number_of_events"])
    assert row["b"] == "0"  # tube B never reported its kVp: nothing shifted onto it
    expected = [e["kvp"] for e in truth["events"]]
    assert float(row["kvp"]) == pytest.approx(sum(expected) / len(expected))
    for event in truth["events"][1:]:
        (got,) = search(splunk, f'index=dicom IrradiationEventUID="{event["irradiation_event_uid"]}" '
                                "| table KVP_SourceA TubeCurrent_SourceA TubeCurrent_SourceB KVP{}")
        assert float(got["KVP_SourceA"]) == event["kvp_by_source"]["A"]
        assert float(got["TubeCurrent_SourceB"]) == event["tube_current_by_source"]["B"]
        assert "KVP{}" not in got
    numeric_lists = [k for e in splunk.events for k, v in json.loads(e.raw).items()
                     if isinstance(v, list) and any(isinstance(x, (int, float)) for x in v)
                     and not k.endswith("_series")]
    assert numeric_lists == []


# --- 5. one unit per key -----------------------------------------------------------------------


def test_one_unit_per_key_across_ct_and_fluoroscopy(source, splunk):
    ct, _ct_truth = make_ct_dose_sr(seed=38, patient_id="UNITS", accession_number="U1")
    xa, xa_truth = make_fluoro_dose_sr(seed=38, events=6, accession_number="U2")
    upload(source, ct)
    upload(source, xa)
    index(source, splunk)

    units = search(splunk, "index=dicom RecordType=irradiation_event | stats count by ExposureTime_unit")
    assert [r["ExposureTime_unit"] for r in units] == ["s"]
    for unit_key, want in (("Exposure_unit", "mA.s"), ("PulseRate_unit", "{pulse}/s"), ("DoseRP_unit", "mGy"),
                           ("DoseAreaProduct_unit", "Gy.m2"), ("PulseWidth_unit", "ms")):
        rows = search(splunk, f"index=dicom RecordType=irradiation_event | stats count by {unit_key}")
        assert [r[unit_key] for r in rows] == [want], unit_key
    first = xa_truth["events"][0]
    (row,) = search(splunk, f'index=dicom IrradiationEventUID="{first["irradiation_event_uid"]}" '
                            "| table ExposureTime Exposure DoseRP")
    assert (float(row["ExposureTime"]), float(row["Exposure"]), float(row["DoseRP"])) == (
        first["exposure_time_s"], first["exposure_mas"], first["dose_rp_mgy"])


# --- 6. character sets -------------------------------------------------------------------------


@pytest.mark.parametrize("charset", ["ISO_IR 100", "ISO_IR 192"])
def test_non_ascii_reports_arrive_decoded(source, splunk, charset):
    ct, ct_truth = make_ct_dose_sr(seed=39, patient_id="NA", charset=charset)
    xa, xa_truth = make_fluoro_dose_sr(seed=39, events=3, charset=charset)
    upload(source, ct)
    upload(source, xa)
    summary = index(source, splunk)
    assert summary.failed == 0
    rows = search(splunk, "index=dicom RecordType=irradiation_event | stats count by AcquisitionProtocol")
    protocols = {r["AcquisitionProtocol"]: int(r["count"]) for r in rows}
    assert ct_truth["events"][1]["acquisition_protocol"] == xa_truth["protocol"]  # the same text
    assert protocols[xa_truth["protocol"]] == 1 + 3
    assert any(ord(c) > 127 for c in xa_truth["protocol"])
    names = search(splunk, "index=dicom RecordType=instance | table PatientName")
    assert {r["PatientName"] for r in names} == {"Müller^Jürgen"}


# --- the documented total-computing searches -----------------------------------------------------


def documented_searches() -> list[str]:
    """The SPL blocks of docs/dose-records.md's "Searches that give correct totals", in order."""
    text = (REPO / "docs" / "dose-records.md").read_text(encoding="utf-8")
    section = text.split("## Searches that give correct totals", 1)[1].split("\n## ", 1)[0]
    return [" ".join(block.split()) for block in re.findall(r"```\n(.*?)```", section, flags=re.S)]


def test_the_documented_searches_give_correct_per_study_and_per_protocol_totals(source, splunk):
    versions = cumulative_ct_reports(3, seed=40, patient_id="DOC", accession_number="DOC1")
    for ds, _ in versions:
        upload(source, ds)
        index(source, splunk)
    final_ds, final = versions[-1]
    other = in_another_study(final_ds, accession_number="DOC2")
    upload(source, other)
    xa, xa_truth = make_fluoro_dose_sr(seed=40, events=5, patient_id="DOCXA")
    upload(source, xa)
    index(source, splunk)
    ct_study, other_study, xa_study = (
        final["study_instance_uid"],
        other.StudyInstanceUID,
        xa_truth["study_instance_uid"],
    )
    ct_dlp = dsum(e["dlp"] for e in final["events"] if e["dlp"] is not None)
    by_events, by_protocol, by_report, overall, most_complete = documented_searches()

    rows = {r["StudyInstanceUID"]: r for r in search(splunk, by_events)}
    assert set(rows) == {ct_study, xa_study}  # the copy in the other study adds no event
    assert float(rows[ct_study]["DLP"]) == pytest.approx(ct_dlp) and rows[ct_study]["events"] == "4"
    assert float(rows[xa_study]["DAP"]) == pytest.approx(xa_truth["dap_total"]) and rows[xa_study]["events"] == "5"

    rows = {r["AcquisitionProtocol"]: r for r in search(splunk, by_protocol)}
    expected = {e["acquisition_protocol"]: e for e in final["events"]}
    assert {p: int(r["count"]) for p, r in rows.items()} == {**dict.fromkeys(expected, 1), xa_truth["protocol"]: 5}
    for protocol, event in expected.items():
        if event["dlp"] is not None:
            assert float(rows[protocol]["sum(DLP)"]) == pytest.approx(event["dlp"])

    rows = {r["StudyInstanceUID"]: r for r in search(splunk, by_report)}
    for study in (ct_study, other_study):
        assert float(rows[study]["DLPTotal"]) == pytest.approx(final["dlp_total"]) and rows[study]["events"] == "4"
    assert rows[xa_study]["events"] == "5" and "DLPTotal" not in rows[xa_study]

    (row,) = search(splunk, overall)
    assert float(row["DLPTotal"]) == pytest.approx(final["dlp_total"])  # 3 versions x 2 studies: one exam

    # "sort 0 - EventCount | dedup ..." is beyond the stand-in's SPL; the fields it needs are there
    assert "sort 0 - EventCount" in most_complete
    reports = search(
        splunk,
        "index=dicom RecordType=dose_report | table StudyInstanceUID FirstIrradiationEventUID EventCount DLPTotal",
    )
    best: dict[tuple, dict] = {}
    for report in sorted(reports, key=lambda r: -int(r["EventCount"])):
        best.setdefault((report["StudyInstanceUID"], report["FirstIrradiationEventUID"]), report)
    assert {k[0]: int(v["EventCount"]) for k, v in best.items()} == {ct_study: 4, other_study: 4, xa_study: 5}
