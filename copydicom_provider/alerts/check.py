"""Which scans and exams reach a notification value: the alerts, grouped by study.

Why grouped: whoever follows an alert up looks at one exam, so one message names one study with
everything in it that reached a value. An exam's total is over its scans (localizers kept out, as
in the report). A total with values set aside (a unit the records could not convert) is a lower
bound: it still alerts when it reaches the value, and says "at least".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from copydicom_provider.alerts.thresholds import EVENT, QUANTITY_KEYS, STUDY, Subject, Threshold, ThresholdTable
from copydicom_provider.reports.collect import DoseEvent
from copydicom_provider.reports.exams import split_localizers

FLUOROSCOPY_TIME = "FluoroscopyTime"


@dataclass(frozen=True)
class Exceedance:
    """One value at or above its threshold: a scan's (``event_uid``) or an exam's total."""

    threshold: Threshold
    value: float  # in the records' unit
    study_uid: str
    event_uid: str = ""
    protocol: str = ""
    at_least: bool = False

    @property
    def key(self) -> str:
        """What is told once: this rule for this scan, or for this exam."""
        return f"{self.threshold.rule}|{self.event_uid or self.study_uid}"

    @property
    def shown(self) -> float:
        """The value in the table's unit."""
        return self.value * self.threshold.shown_value / self.threshold.value


@dataclass
class StudyAlert:
    study_uid: str
    accession_number: str
    orthanc_study_id: str
    study_datetime: str
    stations: str
    age_years: float | None
    exceedances: list[Exceedance] = field(default_factory=list)


def find_alerts(events: Iterable[DoseEvent], table: ThresholdTable) -> list[StudyAlert]:
    """Every study with at least one value at or above the row of the table that applies to it."""
    studies: dict[str, list[DoseEvent]] = {}
    for event in events:
        studies.setdefault(event.study_uid or f"(no study UID) {event.uid}", []).append(event)
    alerts = []
    for uid, members in studies.items():
        scans, _ = split_localizers(members)
        ages = [e.age_years for e in members if e.age_years is not None]
        age = ages[0] if ages else None
        found = [*_event_exceedances(uid, scans, table, age), *_study_exceedances(uid, scans, table, age)]
        if found:
            alerts.append(StudyAlert(
                study_uid=uid, accession_number=next((e.accession_number for e in members if e.accession_number), ""),
                orthanc_study_id=next((e.orthanc_study_id for e in members if e.orthanc_study_id), ""),
                study_datetime=min((e.when for e in members if e.when), default=""),
                stations=" ".join(sorted({e.station for e in members})), age_years=age, exceedances=found))
    alerts.sort(key=lambda a: (a.study_datetime, a.study_uid))
    return alerts


def _event_exceedances(study: str, scans: Sequence[DoseEvent], table: ThresholdTable,
                       age: float | None) -> list[Exceedance]:
    found = []
    for scan in scans:
        subject = Subject((scan.protocol,), scan.region_code, scan.phantom, age)
        for quantity in table.quantities(EVENT):
            value = scan.values.get(QUANTITY_KEYS[quantity])
            threshold = table.applying(EVENT, quantity, subject)
            if value is not None and threshold and value >= threshold.value:
                found.append(Exceedance(threshold, value, study, event_uid=scan.uid, protocol=scan.protocol))
    return found


def _study_exceedances(study: str, scans: Sequence[DoseEvent], table: ThresholdTable,
                       age: float | None) -> list[Exceedance]:
    codes = {s.region_code for s in scans if s.region_code}
    phantoms = [s.phantom for s in scans if s.phantom]
    subject = Subject(tuple(sorted({s.protocol for s in scans})), codes.pop() if len(codes) == 1 else "",
                      phantoms[0] if phantoms else "", age)
    found = []
    for quantity in table.quantities(STUDY):
        key = QUANTITY_KEYS[quantity]
        if quantity == FLUOROSCOPY_TIME:
            members = [s for s in scans if s.event_type.lower() == "fluoroscopy"]
            values = [s.duration_s for s in members if s.duration_s is not None]
        else:
            members = list(scans)
            values = [s.values[key] for s in members if key in s.values]
        threshold = table.applying(STUDY, quantity, subject)
        if values and threshold and sum(values) >= threshold.value:
            found.append(Exceedance(threshold, sum(values), study,
                                    at_least=any(key in s.unusable for s in members)))
    return found
