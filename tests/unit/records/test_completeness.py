"""records.completeness: a dose report holding less than it declares, or cut short, is marked incomplete."""

from __future__ import annotations

from copydicom_provider.records.completeness import declared_shortfall, mark_incomplete, short_file
from copydicom_provider.records.instance import InstanceRecords, instance_records
from copydicom_provider.testing.dose_sr import make_ct_dose_sr
from copydicom_provider.testing.dose_sr_quirks import declare_events

IDS = {"OrthancInstanceID": "i1", "OrthancSeriesID": "s1", "OrthancStudyID": "t1", "OrthancPatientID": "p1"}


def test_declared_against_found_events():
    assert declared_shortfall({"NumberOfEvents": 9, "EventCount": 5}) == "declares 9 irradiation events, holds 5"
    assert declared_shortfall({"NumberOfEvents": 3, "EventCount": 3}) is None
    assert declared_shortfall({"NumberOfEvents": 2, "EventCount": 3}) is None  # more found: not short
    assert declared_shortfall({"EventCount": 0}) is None  # declares nothing (projection reports)
    assert short_file(10, 20) == "file ends early: 10 of the 20 bytes Orthanc stored"
    assert short_file(20, 20) is None and short_file(None, 20) is None and short_file(10, None) is None


def test_a_report_declaring_more_events_is_marked_under_a_key_of_its_own():
    whole, _ = make_ct_dose_sr(seed=3)
    assert instance_records(whole, "i1", IDS, "src", None).incomplete == ""
    ds, _ = make_ct_dose_sr(seed=3)
    declare_events(ds, 7)
    out = instance_records(ds, "i1", IDS, "src", None)
    assert out.incomplete == "declares 7 irradiation events, holds 2"
    (report,) = [r for r in out.records if r["RecordType"] == "dose_report"]
    assert report["RecordKey"] == "i1:dose_report:incomplete"
    assert report["ReportIncomplete"] == out.incomplete and out.irradiation_events == 2


def test_a_cut_file_loses_its_last_event_read_and_both_reasons_are_kept():
    ds, _ = make_ct_dose_sr(seed=4, spiral_count=3)
    declare_events(ds, 9)
    out = instance_records(ds, "i1", IDS, "src", None)
    mark_incomplete(out, "file ends early: 10 of the 20 bytes Orthanc stored", cut=True)
    assert out.irradiation_events == 3  # 4 read, the last may be cut
    (report,) = [r for r in out.records if r["RecordType"] == "dose_report"]
    assert report["RecordKey"] == "i1:dose_report:incomplete"  # not suffixed twice
    assert report["ReportIncomplete"] == out.incomplete == (
        "declares 9 irradiation events, holds 4; file ends early: 10 of the 20 bytes Orthanc stored; "
        "its last event read is not sent, it may be cut short")
    empty = InstanceRecords("i2", None)
    mark_incomplete(empty, "file ends early: 1 of the 2 bytes Orthanc stored", cut=True)
    assert empty.incomplete == "file ends early: 1 of the 2 bytes Orthanc stored" and empty.records == []
