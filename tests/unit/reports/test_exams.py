"""reports.exams: per-study figures from the events, localizers counted apart."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from pydicom import dcmread

from copydicom_provider.records.instance import instance_records
from copydicom_provider.reports.collect import Collected, DoseEvent, collect
from copydicom_provider.reports.exams import exam_rows, exams_by_age_group, is_localizer, split_localizers
from copydicom_provider.reports.reference_levels import ReferenceLevel, ReferenceTable
from copydicom_provider.reports.summary import Summary, sections, summary_items
from copydicom_provider.reports.writer import compute_tables, summary_counts, write_summary
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.dose_sr_projection import make_fluoro_dose_sr

CHEST, ABDOMEN = "SCT:816094009", "SCT:818981001"


def event(uid: str, study: str, protocol: str, values: dict[str, float], *, code: str = CHEST,
          acquisition: str = "Spiral Acquisition", acquisition_code: str = "SCT:116152004", age: float | None = 45.0,
          event_type: str = "", duration: float | None = None, when: str = "2025-07-03T10:00:00") -> DoseEvent:
    return DoseEvent(uid, protocol, "CT1", "Chest", code, study, when, values, acquisition, acquisition_code,
                     event_type, age, duration)


@pytest.fixture
def table() -> ReferenceTable:
    return ReferenceTable([ReferenceLevel("", "Chest", CHEST, "DLP", 400.0, "mGy.cm", "Chest exam", "DLP src")], "t")


@pytest.mark.parametrize(("protocol", "acquisition", "code", "localizer"), [
    ("Anything", "Constant Angle Acquisition", "", True),
    ("Anything", "", "DCM:113805", True),
    ("Topogram", "Stationary Acquisition", "DCM:113806", True),  # named so, filed under another type
    ("Scout AP", "", "", True),
    ("Thorax Routine", "Spiral Acquisition", "SCT:116152004", False),
    ("Perfusion", "Stationary Acquisition", "DCM:113806", False),  # a stationary scan is a scan
])
def test_localizers_by_acquisition_type_or_protocol_name(protocol, acquisition, code, localizer):
    assert is_localizer(event("1", "s", protocol, {}, acquisition=acquisition, acquisition_code=code)) is localizer


def test_an_exams_totals_leave_its_localizer_out_and_compare_the_exam_dlp(table):
    events = [
        event("1", "S1", "Topogram", {"CTDIvol": 0.1, "DLP": 5.0}, acquisition="Constant Angle Acquisition",
              acquisition_code="DCM:113805"),
        event("2", "S1", "Thorax", {"CTDIvol": 10.0, "DLP": 300.0}, when="2025-07-03T10:02:00"),
        event("3", "S1", "Thorax", {"CTDIvol": 6.0, "DLP": 150.0}),
        event("4", "S2", "Thorax", {"CTDIvol": 8.0, "DLP": 200.0}, code=ABDOMEN, age=6.0,
              when="2025-07-04T09:00:00"),
        event("5", "S2", "Abdomen", {"CTDIvol": 9.0, "DLP": 100.0}, age=6.0, when="2025-07-04T09:00:00"),
    ]
    scans, localizers = split_localizers(events)
    assert [e.uid for e in localizers] == ["1"] and len(scans) == 4
    first, second = exam_rows(events, table)
    assert first["study_instance_uid"] == "S1" and first["study_datetime"] == "2025-07-03T10:00:00"
    assert (first["events"], first["localizers"], first["dlp_total"], first["localizer_dlp"]) == (2, 1, 450.0, 5.0)
    assert (first["ctdivol_max"], first["ctdivol_mean"]) == (10.0, 8.0)
    assert (first["dlp_level"], first["dlp_exceeds"], first["dlp_source"]) == (400.0, True, "DLP src")
    assert first["age_group"] == "adult" and first["protocols"] == "Thorax"
    assert first["dap_total_gy_cm2"] is None and first["fluoro_time_s"] is None
    # two target regions: no single exam-level region, so no level is matched rather than a wrong one
    assert second["target_region_code"] == "" and second["dlp_level"] is None and second["dlp_exceeds"] is False
    assert second["age_group"] == "paediatric" and second["dlp_total"] == 300.0


def test_projection_exams_sum_dap_dose_rp_and_fluoroscopy_time(table):
    events = [
        event("1", "F", "Coronary", {"DoseAreaProduct": 0.0003, "DoseRP": 1.5}, event_type="Fluoroscopy",
              duration=12.0, age=None, acquisition="", acquisition_code=""),
        event("2", "F", "Coronary", {"DoseAreaProduct": 0.0001, "DoseRP": 0.5}, event_type="Fluoroscopy",
              duration=3.0, age=None, acquisition="", acquisition_code=""),
        event("3", "F", "Coronary", {"DoseAreaProduct": 0.0002, "DoseRP": 2.0}, event_type="Stationary Acquisition",
              duration=0.4, age=None, acquisition="", acquisition_code=""),
    ]
    (row,) = exam_rows(events, table)
    assert row["dap_total_gy_cm2"] == pytest.approx(6.0) and row["dose_rp_total"] == pytest.approx(4.0)
    assert row["fluoro_time_s"] == 15.0  # fluoroscopy events only, not the acquisition's 0.4 s
    assert row["age_group"] == "unknown" and row["dlp_total"] is None and row["ctdivol_max"] is None


def test_exam_figures_per_age_group_keep_unknown_apart(table):
    events = [event("1", "A", "Thorax", {"DLP": 100.0}), event("2", "B", "Thorax", {"DLP": 300.0}),
              event("3", "C", "Thorax", {"DLP": 50.0}, age=4.0), event("4", "D", "Thorax", {"DLP": 80.0}, age=None)]
    rows = {(r["age_group"], r["quantity"]): r for r in exams_by_age_group(exam_rows(events, table))}
    assert set(rows) == {("adult", "dlp_total"), ("paediatric", "dlp_total"), ("unknown", "dlp_total")}
    assert (rows[("adult", "dlp_total")]["exams"], rows[("adult", "dlp_total")]["median"]) == (2, 200.0)
    assert rows[("paediatric", "dlp_total")]["max"] == 50.0 and rows[("unknown", "dlp_total")]["exams"] == 1


def test_an_event_without_study_uid_is_an_exam_of_its_own(table):
    rows = exam_rows([event("1", "", "Thorax", {"DLP": 1.0}), event("2", "", "Thorax", {"DLP": 2.0})], table)
    assert [r["dlp_total"] for r in rows] == [1.0, 2.0]


def test_collect_carries_what_exams_need_and_refuses_a_duration_in_another_unit():
    class Rows:
        def search(self, query, earliest_time=None, latest_time=None):
            if "irradiation_event" not in query:
                return []
            return [{"IrradiationEventUID": "1", "StudyInstanceUID": "S",
                     "AcquisitionType": "Constant Angle Acquisition",
                     "AcquisitionType_code": "DCM:113805", "PatientAgeYears": "0.5", "DLP": "5", "DLP_unit": "mGy.cm"},
                    {"IrradiationEventUID": "2", "IrradiationEventType": "Fluoroscopy", "IrradiationDuration": "13.89",
                     "IrradiationDuration_unit": "s"},
                    {"IrradiationEventUID": "3", "IrradiationDuration": "52", "IrradiationDuration_unit": "ms"}]

    moment = datetime(2025, 1, 1, tzinfo=timezone.utc)
    got = collect(Rows(), "dicom", moment, moment)
    first, second, third = got.events
    assert is_localizer(first) and first.age_years == 0.5 and first.values == {"DLP": 5.0}
    assert (second.event_type, second.duration_s, second.age_years) == ("Fluoroscopy", 13.89, None)
    assert third.duration_s is None and got.unusable == {"IrradiationDuration": 1}  # 52 ms is not 52 s
    assert DoseEvent.from_dict(first.as_dict()) == first  # survives data/events.jsonl


def test_the_summary_page_lists_an_exam_above_its_level_and_counts_localizers(table, tmp_path):
    collected = Collected(events=[
        event("1", "S1", "Topogram", {"DLP": 5.0}, acquisition="Constant Angle Acquisition"),
        event("2", "S1", "Thorax", {"CTDIvol": 10.0, "DLP": 450.0}),
        event("3", "S2", "Thorax", {"CTDIvol": 6.0, "DLP": 150.0}, age=None),
    ])
    tables = compute_tables(collected, table, 2.0)
    assert [r["protocol"] for r in tables.by_protocol] == ["Thorax", "Thorax"]  # CTDIvol and DLP, no Topogram
    counts = summary_counts(collected, tables)
    assert (counts["localizers"], counts["exams"], counts["exams_above_dlp_level"]) == (1, 2, 1)
    assert counts["exams_by_age_group"] == {"adult": 1, "unknown": 1} and counts["protocols"] == 1
    summary = Summary("t", summary_items(("a", "b"), "UTC", counts, "t"), sections(tables))
    page = (tmp_path / write_summary(tmp_path, summary)).read_text()
    assert "<td>S1</td>" in page and "<td>S2</td>" not in page and "2: adult 1, unknown 1" in page


def _indexed(ds) -> list[dict]:
    """A generated SR's irradiation_event records, as Splunk gives them back (strings, values and units)."""
    ids = {"OrthancInstanceID": "i", "OrthancSeriesID": "s", "OrthancStudyID": "t", "OrthancPatientID": "p"}
    records = instance_records(dcmread(io.BytesIO(to_bytes(ds))), "i", ids, "src", None).records
    return [{k: v if isinstance(v, list) else str(v) for k, v in r.items()}
            for r in records if r["RecordType"] == "irradiation_event"]


def test_exam_totals_of_generated_reports_equal_the_reports_own_accumulated_values(table):
    fluoro, fluoro_truth = make_fluoro_dose_sr(seed=3, events=8)
    ct, ct_truth = make_ct_dose_sr(seed=4, spiral_count=2)

    class Rows:
        def search(self, query, earliest_time=None, latest_time=None):
            return _indexed(fluoro) + _indexed(ct) if "irradiation_event" in query else []

    moment = datetime(2025, 1, 1, tzinfo=timezone.utc)
    rows = {r["study_instance_uid"]: r for r in exam_rows(collect(Rows(), "dicom", moment, moment).events, table)}
    xa, scan = rows[fluoro_truth["study_instance_uid"]], rows[ct_truth["study_instance_uid"]]
    assert xa["fluoro_time_s"] == pytest.approx(fluoro_truth["fluoro_time_s"])  # the SR's TotalFluoroTime
    assert xa["dap_total_gy_cm2"] == pytest.approx(fluoro_truth["dap_total"] * 1e4)  # the SR's Gy.m2 in Gy.cm2
    assert xa["dose_rp_total"] == pytest.approx(fluoro_truth["dose_rp_total_mgy"])
    assert (xa["age_group"], xa["events"], xa["localizers"]) == ("adult", 8, 0)
    spirals = [e for e in ct_truth["events"] if e["acquisition_protocol"] != "Topogram"]
    assert (scan["events"], scan["localizers"]) == (2, 1)  # the generator's Topogram
    assert scan["dlp_total"] == pytest.approx(sum(e["dlp"] for e in spirals))
    assert scan["ctdivol_max"] == pytest.approx(max(e["ctdivol"] for e in spirals))


def test_an_exam_figure_is_left_empty_when_one_of_its_events_has_that_value_set_aside(table):
    aside = event("2", "S1", "Thorax", {"CTDIvol": 9.0})
    aside.unusable = ["DLP"]  # its DLP came in a unit the records could not convert
    rows = exam_rows([event("1", "S1", "Thorax", {"CTDIvol": 10.0, "DLP": 390.0}), aside,
                      event("3", "S2", "Thorax", {"CTDIvol": 6.0, "DLP": 150.0})], table)
    short, whole = rows
    assert short["dlp_total"] is None and not short["dlp_exceeds"] and short["set_aside"] == "DLP (1 event)"
    assert short["ctdivol_max"] == 10.0  # CTDIvol was not set aside: still given
    assert whole["dlp_total"] == 150.0 and whole["set_aside"] == ""
    assert DoseEvent.from_dict(aside.as_dict()) == aside  # survives data/events.jsonl
    collected = Collected(events=[event("1", "S1", "Thorax", {"DLP": 390.0}), aside])
    assert summary_counts(collected, compute_tables(collected, table, 2.0))["exams_with_values_set_aside"] == 1


def test_a_value_the_records_kept_unconverted_is_set_aside_for_the_exam_not_left_out_unseen(table):
    ct, truth = make_ct_dose_sr(seed=5, spiral_count=2)
    indexed = _indexed(ct)
    spiral = next(r for r in indexed if r.get("AcquisitionProtocol") != "Topogram" and "DLP" in r)
    spiral["DLP_Unconverted"], spiral["DLP_UnconvertedUnit"] = spiral.pop("DLP"), "furlong.mGy"
    spiral.pop("DLP_unit")
    duration = {"IrradiationEventUID": "xa", "StudyInstanceUID": "XA", "IrradiationEventType": "Fluoroscopy",
                "IrradiationDuration_Unconverted": "52", "IrradiationDuration_UnconvertedUnit": ""}

    class Rows:
        def search(self, query, earliest_time=None, latest_time=None):
            return [*indexed, duration] if "irradiation_event" in query else []

    moment = datetime(2025, 1, 1, tzinfo=timezone.utc)
    got = collect(Rows(), "dicom", moment, moment)
    assert got.unusable == {"DLP": 1, "IrradiationDuration": 1}
    rows = {r["study_instance_uid"]: r for r in exam_rows(got.events, table)}
    exam = rows[truth["study_instance_uid"]]
    assert exam["dlp_total"] is None and exam["set_aside"] == "DLP (1 event)" and exam["ctdivol_max"] is not None
    assert rows["XA"]["fluoro_time_s"] is None and rows["XA"]["set_aside"] == "IrradiationDuration (1 event)"


def test_ssde_and_the_water_equivalent_diameter_reach_the_exam_and_protocol_figures_but_size_is_never_an_outlier(
        table):
    ct, truth = make_ct_dose_sr(seed=6, spiral_count=3, size_estimates=True)
    indexed = _indexed(ct)

    class Rows:
        def search(self, query, earliest_time=None, latest_time=None):
            return indexed if "irradiation_event" in query else []

    moment = datetime(2025, 1, 1, tzinfo=timezone.utc)
    collected = collect(Rows(), "dicom", moment, moment)
    spirals = [e for e in truth["events"] if e["ssde"] is not None]
    assert len(spirals) == 3
    (exam,) = exam_rows(collected.events, table)
    assert exam["ssde_max"] == pytest.approx(max(e["ssde"] for e in spirals))
    assert exam["ssde_mean"] == pytest.approx(sum(e["ssde"] for e in spirals) / 3)
    assert exam["wed_mean_cm"] == pytest.approx(sum(e["wed_mm"] for e in spirals) / 30)  # kept in mm, shown in cm

    # a huge patient: WED far above the protocol's median, yet no outlier and no reference row for a size
    giant = next(e for e in collected.events if "WaterEquivalentDiameter" in e.values)
    giant.values["WaterEquivalentDiameter"] *= 10
    tables = compute_tables(collected, table, 2.0)
    quantities = {(r["protocol"], r["quantity"]) for r in tables.by_protocol}
    assert {q for _, q in quantities} >= {"SSDE", "WaterEquivalentDiameter"}
    wed_row = next(r for r in tables.by_protocol if r["quantity"] == "WaterEquivalentDiameter")
    assert wed_row["unit"] == "cm"
    assert "WaterEquivalentDiameter" not in {r["quantity"] for r in tables.outliers + tables.reference}
