"""reports.period: quarter labels, their bounds and which period a report covers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from copydicom_provider.reports.period import previous_quarter, quarter_bounds, quarter_of, resolve_period

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("label", "start", "end"), [
    ("2025-Q1", utc(2025, 1, 1), utc(2025, 4, 1)),
    ("2025-Q2", utc(2025, 4, 1), utc(2025, 7, 1)),
    ("2025-Q3", utc(2025, 7, 1), utc(2025, 10, 1)),
    ("2025-Q4", utc(2025, 10, 1), utc(2026, 1, 1)),
    ("2025q3", utc(2025, 7, 1), utc(2025, 10, 1)),
    ("  2024-q1 ", utc(2024, 1, 1), utc(2024, 4, 1)),
])
def test_quarter_bounds_are_half_open_in_utc(label, start, end):
    assert quarter_bounds(label) == (start, end)


@pytest.mark.parametrize("label", ["2025-Q5", "2025-Q0", "Q3-2025", "25-Q3", "", None])
def test_quarter_bounds_refuses_other_forms(label):
    with pytest.raises(ValueError, match=r"is not of the form YYYY-Qn \(e\.g\. 2025-Q3\)"):
        quarter_bounds(label)


@pytest.mark.parametrize(("moment", "label"), [
    (utc(2025, 1, 1), "2025-Q1"), (utc(2025, 3, 31, 23, 59), "2025-Q1"), (utc(2025, 4, 1), "2025-Q2"),
    (utc(2025, 9, 30), "2025-Q3"), (utc(2025, 12, 31), "2025-Q4"),
])
def test_quarter_of(moment, label):
    assert quarter_of(moment) == label


@pytest.mark.parametrize(("now", "label"), [
    (utc(2025, 1, 15), "2024-Q4"), (utc(2025, 7, 1), "2025-Q2"), (utc(2025, 12, 31, 23), "2025-Q3"),
])
def test_previous_quarter_is_the_last_one_ended(now, label):
    assert previous_quarter(now) == label


def test_an_override_wins_and_its_label_is_normalised():
    assert resolve_period("2025q3", utc(2020, 1, 1), utc(2020, 4, 1)) == ("2025-Q3", utc(2025, 7, 1), utc(2025, 10, 1))


def test_a_data_interval_that_is_a_quarter_gets_the_quarter_label():
    plus_two = timezone(timedelta(hours=2))
    start, end = datetime(2025, 7, 1, 2, tzinfo=plus_two), datetime(2025, 10, 1, 2, tzinfo=plus_two)
    label, got_start, got_end = resolve_period(None, start, end)
    assert (label, got_start, got_end) == ("2025-Q3", utc(2025, 7, 1), utc(2025, 10, 1))
    assert got_start.tzinfo == UTC


def test_a_custom_interval_is_labelled_by_its_dates():
    start, end = utc(2025, 7, 1), utc(2025, 7, 8, 6, 30)
    assert resolve_period(None, start, end) == ("2025-07-01T0000_2025-07-08T0630", start, end)


@pytest.mark.parametrize(("start", "end"), [
    (None, None), (utc(2025, 7, 1), None), (utc(2025, 7, 8), utc(2025, 7, 1)), (utc(2025, 7, 1), utc(2025, 7, 1)),
])
def test_without_a_usable_interval_the_last_complete_quarter(start, end):
    assert resolve_period(None, start, end, now=utc(2025, 8, 15)) == ("2025-Q2", utc(2025, 4, 1), utc(2025, 7, 1))


def test_an_interval_is_read_on_the_clock_of_the_reports_time_zone():
    from zoneinfo import ZoneInfo

    from copydicom_provider.reports.period import time_zone, wall_clock

    chicago = ZoneInfo("America/Chicago")
    # Airflow's interval of a quarterly schedule in Chicago: midnight there, 05:00/06:00 UTC
    start, end = datetime(2025, 7, 1, tzinfo=chicago), datetime(2025, 10, 1, tzinfo=chicago)
    assert resolve_period(None, start.astimezone(UTC), end.astimezone(UTC), zone="America/Chicago") == (
        "2025-Q3", utc(2025, 7, 1), utc(2025, 10, 1))
    # read in UTC the same interval is no quarter: labelled by its dates
    assert resolve_period(None, start, end)[0] == "2025-07-01T0500_2025-10-01T0500"
    # at 20:00 on 30 September in Chicago (01:00 UTC the next day) Q3 has not ended there
    assert resolve_period(None, None, None, now=utc(2025, 10, 1, 1), zone="America/Chicago")[0] == "2025-Q2"
    assert wall_clock(datetime(2025, 7, 1, 8), "Asia/Tokyo") == utc(2025, 7, 1, 8)  # no zone: a wall clock
    with pytest.raises(ValueError, match="'Mars/Olympus' is not an IANA time zone name"):
        time_zone("Mars/Olympus")


def test_a_quarterly_schedule_in_the_hospitals_zone_reports_that_zones_quarter():
    from copydicom_provider.dag_building.support import interval_timetable

    timetable = interval_timetable("0 0 1 */3 *", "America/Chicago")
    interval = timetable.infer_manual_data_interval(run_after=utc(2025, 5, 10))
    assert interval.end == utc(2025, 4, 1, 5)  # midnight in Chicago (CDT), when Q1 has ended there
    assert resolve_period(None, interval.start, interval.end, zone="America/Chicago") == (
        "2025-Q1", utc(2025, 1, 1), utc(2025, 4, 1))
