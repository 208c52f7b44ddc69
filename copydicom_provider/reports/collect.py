"""Stream one period's records out of Splunk and keep what the report needs, each event once.

The statistics are computed in Python from these rows (not with SPL), so the report does not
depend on search commands a given Splunk (or the test stand-in) lacks, and every number can be
traced to the events. Only the fields in ``fields.EVENT_FIELDS`` travel; instance records are
reduced to (day, modality, study) as they stream, so memory grows with studies, not instances.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from copydicom_provider.reports import fields as f

_INDEX = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")


class Searcher(Protocol):
    """What the report asks of Splunk: a query over a time range, rows streamed (``SplunkHook.search``)."""

    def search(self, query: str, earliest_time: Any = None, latest_time: Any = None) -> Iterable[dict]: ...


@dataclass
class DoseEvent:
    """One irradiation event as the report uses it: its dose values by quantity key."""

    uid: str
    protocol: str
    station: str
    region: str
    region_code: str
    study_uid: str
    when: str  # ISO 8601 study date/time
    values: dict[str, float] = field(default_factory=dict)
    acquisition_type: str = ""
    acquisition_type_code: str = ""
    event_type: str = ""
    age_years: float | None = None
    #: IrradiationDuration in s (a fluoroscopy event's fluoroscopy time); None if absent or not in s
    duration_s: float | None = None
    #: keys whose value this event has but the report set aside (counted in ``Collected.unusable``): an exam's
    #: total over them would be short
    unusable: list[str] = field(default_factory=list)
    accession_number: str = ""
    #: the Orthanc ID of the study on the source the record came from (its explorer page)
    orthanc_study_id: str = ""
    #: the CTDIvol's phantom (``IEC Head Dosimetry Phantom``: 16 cm, ``IEC Body ...``: 32 cm), for CT
    phantom: str = ""
    study_description: str = ""
    procedure_description: str = ""

    @property
    def month(self) -> str:
        return self.when[:7]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"values": dict(self.values)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DoseEvent:
        return cls(**{**data, "values": dict(data.get("values") or {})})


@dataclass
class Collected:
    """The period's deduplicated events plus what was set aside, and who counted what."""

    events: list[DoseEvent] = field(default_factory=list)
    duplicates: int = 0
    #: quantity key -> events whose value was unusable (wrong unit, several values, not a number)
    unusable: dict[str, int] = field(default_factory=dict)
    #: (day, modality) -> distinct studies
    studies: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    instances: int = 0

    def time_range(self) -> tuple[str, str] | None:
        times = sorted(e.when for e in self.events if e.when)
        return (times[0], times[-1]) if times else None


def check_index(index: str) -> str:
    """An index name goes into SPL: refuse anything that could change the search."""
    if not index or not _INDEX.match(index):
        raise ValueError(f"index {index!r} is not a Splunk index name (letters, digits, _ and -)")
    return index


def event_query(index: str) -> str:
    return (f"search index={check_index(index)} {f.RECORD_TYPE}={f.IRRADIATION_EVENT} "
            f"| fields {' '.join(f.EVENT_FIELDS)} {f.TIME}")


def instance_query(index: str) -> str:
    return (f"search index={check_index(index)} {f.RECORD_TYPE}={f.INSTANCE} "
            f"| fields {' '.join(f.INSTANCE_FIELDS)} {f.TIME}")


def collect(hook: Searcher, index: str, start: datetime, end: datetime, *, instances: bool = True) -> Collected:
    """Stream ``[start, end)``'s dose events and (unless ``instances`` is false) instance records; dedupe events
    by IrradiationEventUID."""
    out = Collected()
    seen: set[str] = set()
    for row in hook.search(event_query(index), start, end):
        key = _text(row.get(f.EVENT_UID)) or _text(row.get(f.RECORD_KEY))
        if key and key in seen:
            out.duplicates += 1
            continue
        if key:
            seen.add(key)
        out.events.append(_event(row, key, out.unusable))
    for row in (hook.search(instance_query(index), start, end) if instances else ()):
        out.instances += 1
        study = _text(row.get(f.STUDY_UID))
        if not study:
            continue
        day = _day(_text(row.get(f.STUDY_DATE))) or _text(row.get(f.TIME))[:10]
        modality = _text(row.get(f.MODALITY)) or "(none)"
        out.studies.setdefault((day, modality), set()).add(study)
    return out


def _event(row: Mapping[str, Any], key: str, unusable: dict[str, int]) -> DoseEvent:
    event = DoseEvent(
        uid=key,
        protocol=_text(row.get(f.PROTOCOL)) or "(none)",
        station=_text(row.get(f.STATION)) or "(none)",
        region=_text(row.get(f.TARGET_REGION)),
        region_code=_text(row.get(f.TARGET_REGION_CODE)),
        study_uid=_text(row.get(f.STUDY_UID)),
        when=_text(row.get(f.STUDY_DATETIME)) or _text(row.get(f.TIME)),
        acquisition_type=_text(row.get(f.ACQUISITION_TYPE)),
        acquisition_type_code=_text(row.get(f.ACQUISITION_TYPE_CODE)),
        event_type=_text(row.get(f.EVENT_TYPE)),
        age_years=_number(row.get(f.PATIENT_AGE_YEARS)),
        accession_number=_text(row.get(f.ACCESSION_NUMBER)),
        orthanc_study_id=_text(row.get(f.ORTHANC_STUDY_ID)),
        phantom=_text(row.get(f.PHANTOM_TYPE)),
        study_description=_text(row.get(f.STUDY_DESCRIPTION)),
        procedure_description=_text(row.get(f.PROCEDURE_DESCRIPTION)),
    )

    def set_aside(key: str) -> None:
        unusable[key] = unusable.get(key, 0) + 1
        event.unusable.append(key)

    duration = row.get(f.IRRADIATION_DURATION)
    if row.get(f.IRRADIATION_DURATION + f.UNCONVERTED) not in (None, "", []):
        set_aside(f.IRRADIATION_DURATION)
    elif duration not in (None, ""):
        event.duration_s = _number(duration)
        duration_unit = _text(row.get(f.IRRADIATION_DURATION + f.UNIT_SUFFIX))
        if event.duration_s is None or duration_unit not in ("", f.DURATION_UNIT):
            event.duration_s = None
            set_aside(f.IRRADIATION_DURATION)
    for quantity in f.QUANTITIES:
        raw = row.get(quantity.key)
        if row.get(quantity.unconverted_key) not in (None, "", []):  # a value in a unit the records do not know
            set_aside(quantity.key)
            continue
        if raw is None or raw == "":
            if row.get(quantity.list_key) not in (None, "", []):  # several values where one is expected
                set_aside(quantity.key)
            continue
        value = _number(raw)
        unit = row.get(quantity.unit_key)
        if value is None or (unit not in (None, "") and _text(unit) != quantity.unit):  # no unit: the key's own
            set_aside(quantity.key)
            continue
        event.values[quantity.key] = value
    return event


def _text(value: Any) -> str:
    """Splunk gives strings, multivalue fields as lists: a list is not one value."""
    if isinstance(value, list):
        return ""
    return "" if value is None else str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, list):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _day(study_date: str) -> str:
    """DICOM ``20240314`` -> ``2024-03-14``; anything else is not a date."""
    if len(study_date) == 8 and study_date.isdigit():
        return f"{study_date[:4]}-{study_date[4:6]}-{study_date[6:]}"
    return ""
