"""Exams, not only events: per-study figures from the irradiation events grouped by StudyInstanceUID.

Reference levels for a complete examination (a DLP per exam, a cumulative dose at the reference point
per procedure) apply to an exam's total, not to one acquisition. Localizers (topogram, scout) are
counted apart and kept out of these figures and of the protocol statistics: they are not the scan a
protocol or an exam's level is about (their DLP is kept in its own column so nothing is lost).
An exam's figure is left empty when one of its events has that value set aside (a unit the records
could not convert, several values): a total over the rest would be too low and pass a level unseen.
``set_aside`` names what was left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from copydicom_provider.reports import age
from copydicom_provider.reports.collect import DoseEvent
from copydicom_provider.reports.exam_names import ExamNameTable, load_exam_names
from copydicom_provider.reports.fields import DURATION_UNIT, IRRADIATION_DURATION, QUANTITY_BY_KEY
from copydicom_provider.reports.reference_levels import ReferenceTable
from copydicom_provider.reports.statistics import Distribution

#: CT Acquisition Type "Constant Angle Acquisition" (DCM 113805): the tube does not rotate, a localizer.
LOCALIZER_CODE = "DCM:113805"
LOCALIZER_TYPE = "constant angle acquisition"
#: Protocol names vendors give localizers, some of which file them under another acquisition type.
LOCALIZER_WORDS = ("topogram", "scout", "surview", "scanogram", "localizer", "localiser", "pilot")

#: DAP is summed in the records' Gy.m2 and shown in Gy.cm2, as its column name says.
DAP = QUANTITY_BY_KEY["DoseAreaProduct"]
#: The water-equivalent diameter is kept in mm and shown in cm (AAPM TG 220's unit).
WED = QUANTITY_BY_KEY["WaterEquivalentDiameter"]

EXAM_COLUMNS = (
    "study_instance_uid", "study_datetime", "stations", "standard_exam", "exam_named_from", "procedure_description",
    "study_description", "age_group", "age_years", "events", "localizers",
    "protocols", "target_region_code", "dlp_total", "ctdivol_max", "ctdivol_mean", "localizer_dlp",
    "dap_total_gy_cm2", "dose_rp_total", "fluoro_time_s", "ssde_max", "ssde_mean", "wed_mean_cm",
    "dlp_level", "dlp_exceeds", "dlp_source", "set_aside",
)
#: Per-exam quantities summarised per age group: (column, label, unit).
EXAM_QUANTITIES = (
    ("dlp_total", "Total DLP", QUANTITY_BY_KEY["DLP"].shown_unit),
    ("ctdivol_max", "CTDIvol, max per exam", QUANTITY_BY_KEY["CTDIvol"].shown_unit),
    ("ctdivol_mean", "CTDIvol, mean per exam", QUANTITY_BY_KEY["CTDIvol"].shown_unit),
    ("dap_total_gy_cm2", "Total DAP", DAP.shown_unit),
    ("dose_rp_total", "Total dose at reference point", QUANTITY_BY_KEY["DoseRP"].shown_unit),
    ("fluoro_time_s", "Fluoroscopy time", DURATION_UNIT),
    ("ssde_max", "SSDE, max per exam", QUANTITY_BY_KEY["SSDE"].shown_unit),
    ("wed_mean_cm", "Water-equivalent diameter, mean per exam", WED.shown_unit),
)


def is_localizer(event: DoseEvent) -> bool:
    """A localizer by its acquisition type, or by a protocol name that says so."""
    if event.acquisition_type_code == LOCALIZER_CODE or event.acquisition_type.strip().lower() == LOCALIZER_TYPE:
        return True
    name = event.protocol.lower()
    return any(word in name for word in LOCALIZER_WORDS)


def split_localizers(events: Iterable[DoseEvent]) -> tuple[list[DoseEvent], list[DoseEvent]]:
    """(scans, localizers)."""
    scans: list[DoseEvent] = []
    localizers: list[DoseEvent] = []
    for event in events:
        (localizers if is_localizer(event) else scans).append(event)
    return scans, localizers


def exam_rows(events: Iterable[DoseEvent], table: ReferenceTable,
              names: ExamNameTable | None = None) -> list[dict[str, Any]]:
    """One row per study: its standard exam name (``names``, default the packaged table), totals over its
    scans, CTDIvol max and mean, the DLP level for the whole exam."""
    names = names or load_exam_names()
    studies: dict[str, list[DoseEvent]] = {}
    for event in events:
        studies.setdefault(event.study_uid or f"(no study UID) {event.uid}", []).append(event)
    rows = [_exam(uid, members, table, names) for uid, members in studies.items()]
    rows.sort(key=lambda r: (r["study_datetime"], r["study_instance_uid"]))
    return rows


def _exam(uid: str, members: Sequence[DoseEvent], table: ReferenceTable, names: ExamNameTable) -> dict[str, Any]:
    scans, localizers = split_localizers(members)
    procedure = next((e.procedure_description for e in members if e.procedure_description), "")
    description = next((e.study_description for e in members if e.study_description), "")
    protocols = sorted({e.protocol for e in scans})
    # an exam of several protocols is not named by one of them: which one would be a guess
    standard, named_from = names.name_for([procedure, description, *(protocols if len(protocols) == 1 else [])])
    ctdi, ssde, wed = (_each(scans, key) for key in ("CTDIvol", "SSDE", WED.key))
    codes = {e.region_code for e in scans if e.region_code}
    code = codes.pop() if len(codes) == 1 else ""
    dlp = _total(scans, "DLP")
    dap = _total(scans, DAP.key)
    level = table.level_for("", code, "DLP") if code and dlp is not None else None
    ages = [e.age_years for e in members if e.age_years is not None]
    fluoroscopy = [e for e in scans if e.event_type.lower() == "fluoroscopy"]
    fluoro = [] if _set_aside(fluoroscopy, IRRADIATION_DURATION) else [
        e.duration_s for e in fluoroscopy if e.duration_s is not None]
    aside = Counter(key for e in members for key in e.unusable)
    return {
        "study_instance_uid": uid,
        "study_datetime": min((e.when for e in members if e.when), default=""),
        "stations": " ".join(sorted({e.station for e in members})),
        "standard_exam": standard, "exam_named_from": named_from,
        "procedure_description": procedure, "study_description": description,
        "age_group": age.age_group(ages[0] if ages else None),
        "age_years": ages[0] if ages else None,
        "events": len(scans), "localizers": len(localizers),
        "protocols": " | ".join(sorted({e.protocol for e in scans})),
        "target_region_code": code,
        "dlp_total": dlp,
        "ctdivol_max": max(ctdi) if ctdi else None,
        "ctdivol_mean": sum(ctdi) / len(ctdi) if ctdi else None,
        "localizer_dlp": _total(localizers, "DLP"),
        "dap_total_gy_cm2": None if dap is None else DAP.shown(dap),
        "dose_rp_total": _total(scans, "DoseRP"),
        "fluoro_time_s": sum(fluoro) if fluoro else None,
        "ssde_max": max(ssde) if ssde else None,
        "ssde_mean": sum(ssde) / len(ssde) if ssde else None,
        "wed_mean_cm": WED.shown(sum(wed) / len(wed)) if wed else None,
        "dlp_level": level.national_level if level else None,
        "dlp_exceeds": bool(level and dlp is not None and dlp > level.national_level),
        "dlp_source": level.source if level else "",
        "set_aside": ", ".join(f"{key} ({n} event{'s' if n > 1 else ''})" for key, n in sorted(aside.items())),
    }


def _each(scans: Sequence[DoseEvent], key: str) -> list[float]:
    """Every scan's value of ``key`` (CTDIvol, SSDE: not summed), none when one was set aside (a max would lie)."""
    return [] if _set_aside(scans, key) else [e.values[key] for e in scans if key in e.values]


def _set_aside(events: Iterable[DoseEvent], key: str) -> bool:
    """An event's value of ``key`` was set aside (another unit, several values): a figure over them would be short."""
    return any(key in e.unusable for e in events)


def _total(events: Sequence[DoseEvent], quantity: str) -> float | None:
    """The sum over ``events``; None when one of them has a value that was set aside (the sum would be short)."""
    values = [e.values[quantity] for e in events if quantity in e.values]
    return sum(values) if values and not _set_aside(events, quantity) else None


def exams_by_age_group(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per age group and per-exam quantity: the distribution over exams (adult and paediatric apart)."""
    return [{k: v for k, v in r.items() if k != "standard_exam"} for r in _distributions(rows, by_exam=False)]


def exams_by_standard_exam(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per standard exam, age group and per-exam quantity: what an exam's reference level is read against.
    Unmapped exams are left out (``unmapped_descriptions.csv`` lists them)."""
    return [r for r in _distributions(rows, by_exam=True) if r["standard_exam"]]


def _distributions(rows: Iterable[dict[str, Any]], by_exam: bool) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str], list[float]] = {}
    for row in rows:
        exam = row["standard_exam"] if by_exam else ""
        for column, _, _ in EXAM_QUANTITIES:
            if row[column] is not None:
                groups.setdefault((exam, row["age_group"], column), []).append(row[column])
    out = []
    for exam in sorted({key[0] for key in groups}):
        for group in age.GROUPS:
            for column, label, unit in EXAM_QUANTITIES:
                values = groups.get((exam, group, column))
                if values:
                    d = Distribution.of(values)
                    out.append({"standard_exam": exam, "age_group": group, "quantity": column, "label": label,
                                "unit": unit, "exams": d.count, "mean": d.mean, "median": d.median, "p75": d.p75,
                                "max": d.max})
    return out
