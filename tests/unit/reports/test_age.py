"""reports.age: adult (18 or over), paediatric or unknown, from the age, else the birth date, never guessed."""

from __future__ import annotations

import pytest

from copydicom_provider.reports.age import ADULT, PAEDIATRIC, UNKNOWN, age_group, years_between, years_from_age_string


@pytest.mark.parametrize(("text", "years"), [
    ("045Y", 45.0), ("006M", 0.5), ("003D", 3 / 365.25), ("052W", 52 / 52.1775), ("018y", 18.0),
    ("45Y", None), ("045X", None), ("", None), ("0A5Y", None),
])
def test_dicom_age_strings(text, years):
    got = years_from_age_string(text)
    assert got == (pytest.approx(years) if years is not None else None)


def test_completed_years_between_dates():
    assert years_between("20070315", "20250314") == 17.0  # the day before the 18th birthday
    assert years_between("20070315", "2025-03-15T10:00:00") == 18.0
    assert years_between("2007-03-15", "20250101") == 17.0
    assert years_between("20251301", "20250101") is None and years_between("20260101", "20250101") is None


@pytest.mark.parametrize(("kwargs", "group"), [
    ({"age_years": 18.0}, ADULT), ({"age_years": 17.99}, PAEDIATRIC), ({"age_years": 0.5}, PAEDIATRIC),
    ({"age_years": None}, UNKNOWN), ({"age_years": -1.0}, UNKNOWN),
    ({"age": "006M"}, PAEDIATRIC), ({"age": "045Y"}, ADULT), ({"age": "bad"}, UNKNOWN),
    ({"age_years": 30.0, "age": "006M"}, ADULT),  # the records' derived age comes first
    ({"birth_date": "20070315", "study_date": "20250314"}, PAEDIATRIC),
    ({"birth_date": "20070315", "study_date": "20250315"}, ADULT),
    ({"birth_date": "20070315"}, UNKNOWN),
    ({"age": "bad", "birth_date": "19800101", "study_date": "20250101"}, ADULT),
])
def test_age_group(kwargs, group):
    assert age_group(**kwargs) == group
