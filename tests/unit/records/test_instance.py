"""Records of one instance: event keys by UID, never raising for a read data set, every record under the cap."""

from __future__ import annotations

import io
import json
import os
import warnings

import pytest
from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from copydicom_provider.errors import ConfigurationError
from copydicom_provider.records.instance import event_key, instance_records
from copydicom_provider.records.size import (
    DEFAULT_MAX_RECORD_BYTES,
    PROTECTED,
    fit_record,
    max_record_bytes,
    record_bytes,
)
from copydicom_provider.records.workers import record_processes
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, make_plain_sr, to_bytes
from copydicom_provider.testing.dose_sr_projection import make_fluoro_dose_sr

IDS = {"OrthancInstanceID": "i-1", "OrthancSeriesID": "s-1", "OrthancStudyID": "t-1", "OrthancPatientID": "p-1"}


def read(ds: Dataset) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(io.BytesIO(to_bytes(ds)))


def build(ds: Dataset, **kwargs):
    return instance_records(ds, "i-1", IDS, "src", "20261129T034636", **kwargs)


# --- keys -------------------------------------------------------------------------------------


def test_events_are_keyed_by_uid_and_reports_by_instance():
    ds, truth = make_ct_dose_sr(seed=1, spiral_count=2)
    records = build(read(ds)).records
    assert [r["RecordKey"] for r in records] == [
        "i-1:dose_report", *(f"irradiation_event:{e['irradiation_event_uid']}" for e in truth["events"]),
        "i-1:instance"]


def test_an_event_without_a_uid_keeps_a_per_instance_key():
    assert event_key({"EventIndex": 3}, "i-9") == "i-9:irradiation_event:3"
    assert event_key({"EventIndex": 3, "IrradiationEventUID": ["1.2", "1.3"]}, "i-9") == "i-9:irradiation_event:3"
    assert event_key({"EventIndex": 3, "IrradiationEventUID": "1.2.3"}, "i-9") == "irradiation_event:1.2.3"


def test_an_event_repeated_within_one_report_is_kept_once():
    ds, truth = make_ct_dose_sr(seed=2, spiral_count=2)
    events = [i for i in ds.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "113819"]
    ds.ContentSequence.append(events[1])  # a vendor bug: the same acquisition twice
    item = build(read(ds))
    assert item.irradiation_events == truth["number_of_events"]


def test_different_events_sharing_one_uid_are_all_kept_with_stable_keys():
    ds, truth = make_ct_dose_sr(seed=8, spiral_count=2)
    shared = truth["events"][1]["irradiation_event_uid"]
    events = [i for i in ds.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "113819"]
    uid_item = next(c for c in events[2].ContentSequence if c.ValueType == "UIDREF")
    uid_item.UID = shared  # a scanner that reuses one UID for two acquisitions
    keys = [r["RecordKey"] for r in build(read(ds)).records if r["RecordType"] == "irradiation_event"]
    assert keys == [f"irradiation_event:{truth['events'][0]['irradiation_event_uid']}",
                    f"irradiation_event:{shared}", f"irradiation_event:{shared}#2"]


# --- never raises -----------------------------------------------------------------------------


def test_a_broken_report_still_gives_every_record():
    ds, truth = make_ct_dose_sr(seed=3, odd_items=True, spiral_count=2)
    item = build(read(ds))
    assert [r["RecordType"] for r in item.records] == [
        "dose_report", *["irradiation_event"] * truth["number_of_events"], "instance"]
    assert item.records[0]["ParseWarningCount"] == 4


def test_a_dose_sr_with_damaged_content_bytes_still_gives_its_records_and_names_the_damage():
    ds, _ = make_ct_dose_sr(seed=4)
    tag = Tag(0x0040, 0xA730)  # ContentSequence: a truncated item, as in a damaged file
    ds[tag] = RawDataElement(tag, "SQ", 8, b"\xfe\xff\x00\xe0\xff\xff\xff\x7f", 0, False, True)
    item = build(ds)
    assert [r["RecordType"] for r in item.records] == ["dose_report", "instance"]
    assert item.records[0]["ParseWarnings"] == "1.1: has no ValueType; skipped"
    assert item.records[1]["SOPInstanceUID"] == ds.SOPInstanceUID


# --- size -------------------------------------------------------------------------------------


def test_every_record_of_a_long_fluoroscopy_report_fits_the_default_cap():
    ds, _truth = make_fluoro_dose_sr(seed=5, events=60, long_series_event=4, long_series_pulses=3000)
    item = build(read(ds))
    assert item.irradiation_events == 60
    assert max(record_bytes(r) for r in item.records) <= DEFAULT_MAX_RECORD_BYTES
    long_event = item.records[4]
    assert long_event["KVP_count"] == 3000 and "KVP_series" not in long_event
    assert "KVP_series" in long_event["OmittedForSize"]
    instance = item.records[-1]
    assert "ContentSequence" not in instance and instance["ContentItemsOmitted"] == len(ds.ContentSequence)


def test_a_plain_sr_keeps_its_content_tree_while_it_fits():
    small = make_plain_sr(text="No acute findings.")
    (record,) = build(read(small)).records
    assert record["ContentSequence"][0]["TextValue"] == "No acute findings."
    large = make_plain_sr(text="Findings: " + "unremarkable " * 1500)
    (record,) = build(read(large)).records
    assert "ContentSequence" not in record and record["OmittedForSize"] == "ContentSequence"
    assert record_bytes(record) <= DEFAULT_MAX_RECORD_BYTES


def test_an_image_with_huge_text_is_cut_not_refused():
    image = next(generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=1))
    image.dataset.ImageComments = "x" * 10_000  # LT holds up to 10,240
    image.dataset.add_new(0x00091010, "LO", "ACME")
    image.dataset.add_new(0x00091011, "UT", "y" * 30_000)
    (record,) = build(image.dataset).records
    assert record_bytes(record) <= DEFAULT_MAX_RECORD_BYTES
    assert record["ImageComments"].endswith(" [cut]") and len(record["ImageComments"]) < 300
    assert set(record["OmittedForSize"].split(", ")) == {"0009,1011 (cut)", "ImageComments (cut)"}
    assert record["PatientID"] == image.dataset.PatientID and record["OrthancInstanceID"] == "i-1"


def test_fit_record_sheds_series_first_and_never_identity_keys():
    record = {"RecordType": "irradiation_event", "RecordKey": "k", "IrradiationEventUID": "1.2.3",
              "KVP": 75, "KVP_series": list(range(1000)), "Comment": "z" * 3000, "Small": 1}
    fitted = fit_record(record, 3500)
    assert fitted["OmittedForSize"] == "KVP_series" and fitted["Comment"] == record["Comment"]
    tighter = fit_record(record, 2000)
    assert tighter["OmittedForSize"] == "KVP_series, Comment (cut)" and tighter["Small"] == 1
    assert all(tighter[k] == record[k] for k in PROTECTED & record.keys())
    assert record_bytes(tighter) <= 2000
    assert fit_record({"RecordType": "x"}, 2000) == {"RecordType": "x"}  # fits: untouched, no note


def test_fit_record_lists_at_most_forty_names():
    record = {"RecordType": "instance", **{f"K{n:03d}": "v" * 150 for n in range(200)}}
    fitted = fit_record(record, 2000)
    assert record_bytes(fitted) <= 2000
    assert fitted["OmittedForSize"].endswith("more") and fitted["OmittedForSize"].count(",") == 40


def test_the_cap_comes_from_the_argument_or_the_environment(monkeypatch):
    monkeypatch.delenv("COPYDICOM_MAX_RECORD_BYTES", raising=False)
    assert max_record_bytes() == DEFAULT_MAX_RECORD_BYTES
    assert max_record_bytes(4000) == 4000
    monkeypatch.setenv("COPYDICOM_MAX_RECORD_BYTES", "3000")
    assert max_record_bytes() == 3000
    ds, _ = make_ct_dose_sr(seed=6, long_comment=True, dual_source=True, spiral_count=2)
    assert max(record_bytes(r) for r in build(read(ds)).records) <= 3000
    monkeypatch.setenv("COPYDICOM_MAX_RECORD_BYTES", "lots")
    with pytest.raises(ValueError, match="COPYDICOM_MAX_RECORD_BYTES must be a number of bytes, not 'lots'"):
        max_record_bytes()
    with pytest.raises(ValueError, match="at least 2000 bytes, not 100"):
        max_record_bytes(100)


def test_records_are_compact_json_strings_of_the_size_measured():
    ds, _ = make_ct_dose_sr(seed=7, charset="ISO_IR 192")
    for record in build(read(ds)).records:
        text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
        assert len(text.encode("utf-8")) == record_bytes(record)


def test_record_processes_follow_the_run_size_the_cores_and_the_setting(monkeypatch):
    monkeypatch.delenv("COPYDICOM_RECORD_PROCESSES", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})
    assert record_processes(4, 99) == 0, "a small run: threads"
    assert record_processes(4, 100) == 3, "one process per core"
    assert record_processes(2, 5000) == 2, "no more than the connection's max_parallel"
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert record_processes(4, 5000) == 0, "one core: threads"
    monkeypatch.setenv("COPYDICOM_RECORD_PROCESSES", "0")
    assert record_processes(4, 5000) == 0
    monkeypatch.setenv("COPYDICOM_RECORD_PROCESSES", "3")
    assert record_processes(4, 10) == 3, "the setting decides"
    monkeypatch.setenv("COPYDICOM_RECORD_PROCESSES", "many")
    with pytest.raises(ConfigurationError, match="COPYDICOM_RECORD_PROCESSES must be a whole number"):
        record_processes(4, 5000)
