"""Dates moved back by a patient's shift: DA/DT values, and dates written inside free text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from copydicom_provider.deid.dates import DUMMY_DATE, REMOVED_DATE, shift_in_text, shift_value

DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("value", "shift", "expected"),
    [
        ("20240312", DAY, "20240311"),
        ("20240301", DAY, "20240229"),  # 2024 is a leap year
        ("20230301", DAY, "20230228"),
        ("20240101", DAY, "20231231"),
        ("20240312", timedelta(days=3652), "20140313"),  # MAX_SHIFT_DAYS: ten years and three leap days back
        ("20240312094107", DAY, "20240311094107"),  # a DT keeps its time
        ("20240312094107.123456+0100", timedelta(days=12), "20240229094107.123456+0100"),  # fraction, offset
        ("20240312-0500", DAY, "20240311-0500"),  # a DT of a day and an offset
        ("2024.03.12", DAY, "20240311"),  # the old ACR-NEMA form comes back in DA form
        ("  20240312 ", DAY, "20240311"),  # DA padding
    ],
)
def test_a_value_moves_back_keeping_what_follows_the_day(value, shift, expected):
    assert shift_value(value, shift) == expected


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_value_stays_empty(value):
    assert shift_value(value, DAY) == ""


@pytest.mark.parametrize(
    "value",
    [
        "00010101",  # .NET's minimum date: the day before it does not exist
        "2024",  # a partial DT: no single day
        "202403",
        "20240101-20240131",  # a range
        "-20240131",  # an open range
        "20240101-",
        "20240230",  # no such day
        "20241301",
        "UNKNOWN",
        "202401-202412",  # a range of months: not the 20th of January followed by a time
        "20240101-2024",  # a range to a year: -2024 is no UTC offset (they run from -1200 to +1400)
        "20240101+1500",
        "2024.0131",  # ACR-NEMA separators come in pairs
    ],
)
def test_a_value_that_cannot_move_gives_none(value):
    assert shift_value(value, DAY) is None


def test_the_dummy_date_is_a_valid_da_value():
    assert shift_value(DUMMY_DATE, DAY) == "18991231"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seen 2024-03-12, again 2024-03-20", "seen 2024-03-11, again 2024-03-19"),
        ("seen 2024/3/5", "seen 2024/3/4"),  # single-digit month: the output keeps single digits
        ("seen 2024.03.01", "seen 2024.02.29"),
        ("seen 2024-3-1.", "seen 2024-2-29."),
        ("scan of 20240312", "scan of 20240311"),
        ("at 20240312094107 and 20240312094107.5", "at 20240311094107 and 20240311094107.5"),
        ("2024-01-01", "2023-12-31"),
    ],
)
def test_year_first_dates_in_text_move_back_in_their_own_format(text, expected):
    assert shift_in_text(text, DAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ID 12345678",  # eight digits that are no date
        "accession 2024031212345678",  # a longer number holding a date's digits
        "dose 2024-13-45 mGy",  # year-first shape, no such day
        "no dates here",
    ],
)
def test_digits_that_are_no_date_are_left_to_the_hunt(text):
    assert shift_in_text(text, DAY) == text


@pytest.mark.parametrize(
    "date_text",
    ["12/03/2024", "3.12.24", "3 March 2024", "3rd Mar 2024", "12-Mar-2024", "March 3, 2024", "mar 3 2024",
     "2024 Mar 12", "2024-mar-12"],
)
def test_dates_of_unknowable_order_or_with_month_names_are_removed(date_text):
    assert shift_in_text(f"seen on {date_text} by", DAY) == f"seen on {REMOVED_DATE} by"


@pytest.mark.parametrize("date_text", ["2024-03-12", "20240312", "12/03/2024", "March 3, 2024"])
def test_without_a_shift_every_date_is_removed(date_text):
    assert shift_in_text(f"seen {date_text}.", None) == f"seen {REMOVED_DATE}."


def test_a_date_in_text_that_cannot_move_back_is_removed():
    assert shift_in_text("since 0001-01-01", DAY) == f"since {REMOVED_DATE}"
