"""Adult or paediatric: dose reference levels differ, so an exam's age group must be known, or kept apart.

The rule, in order: the records' ``PatientAgeYears`` (derived from PatientAge, ``045Y`` -> 45,
``006M`` -> 0.5); else a raw DICOM age string if one is given; else the birth date against the study
date if both are given; else ``unknown``, never guessed. Adult means 18 years or over.
"""

from __future__ import annotations

from datetime import date

ADULT = "adult"
PAEDIATRIC = "paediatric"
UNKNOWN = "unknown"
#: In display order.
GROUPS = (ADULT, PAEDIATRIC, UNKNOWN)
ADULT_FROM_YEARS = 18.0

_PER_YEAR = {"Y": 1.0, "M": 12.0, "W": 52.1775, "D": 365.25}


def years_from_age_string(age: str) -> float | None:
    """DICOM AS (``045Y``, ``006M``, ``010W``, ``003D``) in years; anything else is not an age."""
    age = age.strip().upper()
    if len(age) != 4 or not age[:3].isdigit() or age[3] not in _PER_YEAR:
        return None
    return int(age[:3]) / _PER_YEAR[age[3]]


def years_between(birth: str, study: str) -> float | None:
    """Completed years from a DICOM date (``YYYYMMDD``) or ISO date to another; None if either is unreadable."""
    born, on = _date(birth), _date(study)
    if born is None or on is None or on < born:
        return None
    return float(on.year - born.year - ((on.month, on.day) < (born.month, born.day)))


def age_group(age_years: float | None = None, age: str = "", birth_date: str = "", study_date: str = "") -> str:
    """``adult``, ``paediatric`` or ``unknown``, by the rule in the module's docstring."""
    years = age_years
    if years is None and age:
        years = years_from_age_string(age)
    if years is None and birth_date and study_date:
        years = years_between(birth_date, study_date)
    if years is None or years < 0:
        return UNKNOWN
    return ADULT if years >= ADULT_FROM_YEARS else PAEDIATRIC


def _date(text: str) -> date | None:
    digits = text.strip()[:10].replace("-", "")
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None
