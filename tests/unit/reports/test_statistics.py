"""reports.statistics: percentiles, distributions and the report's tables."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from copydicom_provider.reports.collect import DoseEvent
from copydicom_provider.reports.reference_levels import ReferenceLevel, ReferenceTable
from copydicom_provider.reports.statistics import (
    Distribution,
    dose_table,
    monthly_medians,
    outliers,
    percentile,
    period_days,
    reference_comparison,
    studies_per_modality_per_day,
)

HEAD, CHEST = "SCT:69536005", "SCT:816094009"


def event(n: int, protocol: str, values: dict[str, float], *, when: str = "2025-07-03T10:00:00",
          region: str = "Head", code: str = HEAD, station: str = "CT1") -> DoseEvent:
    return DoseEvent(f"1.2.{n}", protocol, station, region, code, f"1.3.{n}", when, values)


@pytest.fixture
def levels() -> ReferenceTable:
    return ReferenceTable([
        ReferenceLevel("", "Head", HEAD, "CTDIvol", 47.0, "mGy", "Head", "NDRL"),
        ReferenceLevel("Head special", "", "", "CTDIvol", 60.0, "mGy", "Special", "local"),
    ], "test")


@pytest.mark.parametrize(("q", "expected"), [(0, 1.0), (25, 1.75), (50, 2.5), (75, 3.25), (100, 4.0)])
def test_percentile_interpolates_linearly(q, expected):
    assert percentile([1.0, 2.0, 3.0, 4.0], q) == pytest.approx(expected)


def test_percentile_of_one_value_and_of_none():
    assert percentile([5.0], 75) == 5.0
    with pytest.raises(ValueError, match="percentile of no values"):
        percentile([], 50)


def test_distribution_sorts_its_values():
    assert Distribution.of([3.0, 1.0, 2.0, 10.0]) == Distribution(4, 4.0, 2.5, 4.75, 10.0)


def test_dose_table_one_row_per_group_and_quantity_in_display_order():
    events = [
        event(1, "Head", {"DLP": 800.0, "CTDIvol": 50.0}),
        event(2, "Head", {"CTDIvol": 40.0}),
        event(3, "Abdomen", {"CTDIvol": 10.0}, station="CT2"),
    ]
    rows = dose_table(events, ("protocol", "station"))
    assert [(r["protocol"], r["station"], r["quantity"]) for r in rows] == [
        ("Abdomen", "CT2", "CTDIvol"), ("Head", "CT1", "CTDIvol"), ("Head", "CT1", "DLP")]
    assert rows[1] == {"protocol": "Head", "station": "CT1", "quantity": "CTDIvol", "unit": "mGy", "count": 2,
                       "mean": 45.0, "median": 45.0, "p75": 47.5, "max": 50.0}
    assert rows[2]["count"] == 1 and rows[2]["unit"] == "mGy.cm"


def test_monthly_medians_by_the_study_month():
    events = [event(1, "Head", {"CTDIvol": 10.0}, when="2025-07-01"), event(2, "Head", {"CTDIvol": 30.0}),
              event(3, "Head", {"CTDIvol": 20.0}, when="2025-08-31T23:00:00")]
    assert monthly_medians(events) == [
        {"protocol": "Head", "month": "2025-07", "quantity": "CTDIvol", "unit": "mGy", "count": 2, "median": 20.0},
        {"protocol": "Head", "month": "2025-08", "quantity": "CTDIvol", "unit": "mGy", "count": 1, "median": 20.0},
    ]


def test_reference_comparison_by_region_by_protocol_and_without_a_level(levels):
    events = [event(1, "Head routine", {"CTDIvol": 50.0}), event(2, "Head routine", {"CTDIvol": 40.0}),
              event(3, "Head special", {"CTDIvol": 30.0}),
              event(4, "Chest", {"CTDIvol": 5.0}, region="Chest", code=CHEST)]
    rows = {r["protocol"]: r for r in reference_comparison(events, levels)}
    routine = rows["Head routine"]
    assert (routine["local_level"], routine["national_level"], routine["count"]) == (45.0, 47.0, 2)
    assert routine["ratio"] == pytest.approx(45 / 47)
    assert (routine["exceeds"], routine["matched_by"], routine["examination"]) == (False, "body_region_code", "Head")
    special = rows["Head special"]
    assert (special["national_level"], special["matched_by"], special["source"]) == (60.0, "protocol", "local")
    chest = rows["Chest"]
    assert (chest["national_level"], chest["ratio"], chest["exceeds"], chest["matched_by"]) == (None, None, False, "")


def test_reference_comparison_flags_a_local_level_above_the_national_one(levels):
    rows = reference_comparison([event(1, "Head", {"CTDIvol": 48.0})], levels)
    assert rows[0]["exceeds"] is True and rows[0]["target_region"] == "Head" and rows[0]["target_region_code"] == HEAD


def test_outliers_above_the_level_or_a_multiple_of_the_median(levels):
    events = [event(n, "Head", {"CTDIvol": 10.0}) for n in range(3)]
    events += [event(7, "Head", {"CTDIvol": 25.0}), event(8, "Head", {"CTDIvol": 55.0})]
    rows = outliers(events, levels)
    assert [(r["irradiation_event_uid"], r["value"], r["reason"]) for r in rows] == [
        ("1.2.8", 55.0, "above reference level; above 2 x protocol median"),
        ("1.2.7", 25.0, "above 2 x protocol median"),
    ]
    assert rows[0]["protocol_median"] == 10.0 and rows[0]["national_level"] == 47.0 and rows[0]["unit"] == "mGy"
    assert rows[1]["study_instance_uid"] == "1.3.7" and rows[1]["station"] == "CT1"


def test_outliers_factor_is_configurable_and_a_zero_median_flags_nothing(levels):
    events = [event(1, "Scout", {"DLP": 0.0}), event(2, "Scout", {"DLP": 0.0}), event(3, "Scout", {"DLP": 5.0}),
              event(4, "Head", {"CTDIvol": 10.0}), event(5, "Head", {"CTDIvol": 14.0})]
    assert outliers(events, levels) == []
    rows = outliers(events, levels, factor=1.1)
    assert [(r["value"], r["reason"]) for r in rows] == [(14.0, "above 1.1 x protocol median")]


def test_dap_is_computed_in_gy_m2_and_shown_in_gy_cm2():
    dap = ReferenceTable([ReferenceLevel("", "Head", HEAD, "DoseAreaProduct", 0.0003, "Gy.m2", "Head", "src")], "t")
    events = [event(1, "F", {"DoseAreaProduct": 0.0001}), event(2, "F", {"DoseAreaProduct": 0.0002}),
              event(3, "F", {"DoseAreaProduct": 0.0009})]
    (row,) = dose_table(events, ("protocol",))
    assert (row["unit"], row["median"], row["max"]) == ("Gy.cm2", pytest.approx(2.0), pytest.approx(9.0))
    (month,) = monthly_medians(events)
    assert (month["unit"], month["median"]) == ("Gy.cm2", pytest.approx(2.0))
    (ref,) = reference_comparison(events, dap)
    assert (ref["unit"], ref["local_level"], ref["national_level"]) == (
        "Gy.cm2", pytest.approx(2.0), pytest.approx(3.0))
    assert ref["ratio"] == pytest.approx(2 / 3) and ref["exceeds"] is False  # compared in the records' unit
    (out,) = outliers(events, dap)
    assert (out["unit"], out["value"], out["protocol_median"], out["national_level"]) == (
        "Gy.cm2", pytest.approx(9.0), pytest.approx(2.0), pytest.approx(3.0))


def test_studies_per_modality_per_day():
    studies = {("2025-07-02", "CT"): {"a", "b"}, ("2025-07-01", "MG"): {"c"}, ("2025-07-01", "CT"): {"d"}}
    assert studies_per_modality_per_day(studies) == [
        {"day": "2025-07-01", "modality": "CT", "studies": 1}, {"day": "2025-07-01", "modality": "MG", "studies": 1},
        {"day": "2025-07-02", "modality": "CT", "studies": 2}, {"day": "2025-07-02", "modality": "MG", "studies": 0}]


def test_studies_per_modality_per_day_shows_every_day_of_the_period_a_day_without_studies_as_zero():
    studies = {("2025-07-03", "CT"): {"a", "b"}, ("2025-07-01", "MG"): {"c"}}
    start = datetime(2025, 7, 1, tzinfo=timezone.utc)
    rows = studies_per_modality_per_day(studies, (start, start + timedelta(days=4)))
    assert [(r["day"], r["modality"], r["studies"]) for r in rows] == [
        ("2025-07-01", "CT", 0), ("2025-07-01", "MG", 1), ("2025-07-02", "CT", 0), ("2025-07-02", "MG", 0),
        ("2025-07-03", "CT", 2), ("2025-07-03", "MG", 0), ("2025-07-04", "CT", 0), ("2025-07-04", "MG", 0)]


def test_a_study_dated_outside_the_period_is_kept_and_no_studies_give_no_rows():
    start = datetime(2025, 7, 1, tzinfo=timezone.utc)
    rows = studies_per_modality_per_day({("2025-06-30", "CT"): {"a"}}, (start, start + timedelta(days=1)))
    assert [(r["day"], r["studies"]) for r in rows] == [("2025-06-30", 1), ("2025-07-01", 0)]
    assert studies_per_modality_per_day({}, (start, start + timedelta(days=1))) == []


@pytest.mark.parametrize(("start", "end", "expected"), [
    (datetime(2025, 7, 1, tzinfo=timezone.utc), datetime(2025, 10, 1, tzinfo=timezone.utc), 92),  # Q3, end exclusive
    (datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2025, 4, 1, tzinfo=timezone.utc), 90),
    (datetime(2025, 7, 1, 12, tzinfo=timezone.utc), datetime(2025, 7, 2, 0, 1, tzinfo=timezone.utc), 2),
])
def test_period_days_counts_every_day_the_period_touches(start, end, expected):
    days = period_days(start, end)
    assert len(days) == expected and days[0] == start.date().isoformat()
