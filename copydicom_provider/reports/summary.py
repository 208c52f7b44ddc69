"""What the report's summary says, once, for both of its renderings (the HTML page and the PDF).

Why apart: the page a physicist opens and the PDF they hand in must carry the same counts, tables
and links; building the content here and only drawing it in ``writer`` (HTML) and ``pdf`` keeps
them from drifting apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from copydicom_provider.reports.fields import QUANTITY_BY_KEY

#: Outliers shown on the page and in the PDF (outliers.csv lists all).
OUTLIERS_SHOWN = 50


@dataclass(frozen=True)
class Cell:
    """A table cell's text, with the address it links to (an outlier's study in Orthanc Explorer)."""

    text: str
    link: str = ""


@dataclass
class Section:
    """A titled table, or the sentence saying why there is none, with a note under it."""

    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    empty: str
    note: str = ""
    more: str = ""


def _cells(*values: Any) -> tuple[Cell, ...]:
    return tuple(v if isinstance(v, Cell) else Cell(str(v)) for v in values)


def summary_items(period: tuple[str, str], zone: str, counts: dict[str, Any],
                  reference_origin: str) -> list[tuple[str, str]]:
    """The headline counts, as (label, value) lines."""
    items: list[tuple[str, Any]] = [
        (f"Period (study date/time on the scanners' clock, {zone}; end exclusive)", f"{period[0]} to {period[1]}"),
        ("Data's time range (study date/time of the first and last event)",
         f"{counts['first_event']} to {counts['last_event']}" if counts["first_event"] else "no dose events"),
        ("Irradiation events (each counted once by IrradiationEventUID)", counts["irradiation_events"]),
        ("Resent copies skipped", counts["duplicates_skipped"]),
        ("Studies with dose events", counts["studies_with_dose_events"]),
        ("Localizers (topogram, scout: counted, kept out of protocol and exam statistics)", counts["localizers"]),
        ("Exams (studies) by age group",
         f"{counts['exams']}: " + (", ".join(f"{g} {n}" for g, n in counts["exams_by_age_group"].items()) or "none")),
        ("Exams whose total DLP exceeds an exam-level DLP reference", counts["exams_above_dlp_level"]),
        ("Exams with a value set aside (that figure left empty; exams.csv says which)",
         counts.get("exams_with_values_set_aside", 0)),
        ("Protocols / scanners", f"{counts['protocols']} / {counts['scanners']}"),
        ("Instances received (instance records) / studies", f"{counts['instances']} / {counts['studies']}"),
        ("Outlier events", counts["outlier_events"]),
        ("Exams no exam-name row names (listed below, and in unmapped_descriptions.csv)",
         counts.get("exams_unmapped", 0)),
        ("Reference-level table", reference_origin),
    ]
    if counts["unusable_values"]:
        items.append(("Values left out (unexpected unit, several values or not a number)",
                      ", ".join(f"{k}: {v}" for k, v in sorted(counts["unusable_values"].items()))))
    return [(label, str(value)) for label, value in items]


def sections(tables: Any) -> list[Section]:
    """The summary's tables, in reading order (``tables``: writer.Tables)."""
    above = [r for r in tables.reference if r["exceeds"]]
    dlp_unit = QUANTITY_BY_KEY["DLP"].shown_unit
    return [
        Section("Protocols whose local median exceeds the national reference level",
                ("Protocol", "Target region", "Quantity", "Local (median)", "National", "Events", "Source"),
                [_cells(r["protocol"], r["target_region"], r["quantity"], f"{r['local_level']:.4g} {r['unit']}",
                        f"{r['national_level']:.4g} {r['unit']}", r["count"], r["source"]) for r in above],
                "No protocol's local median exceeds its national reference level.",
                "Local level = median of the protocol's distribution (ICRP Publication 135); statistics are per "
                "irradiation event and percentiles interpolate linearly."),
        Section("Per exam, by age group", ("Age group", "Per exam", "Exams", "Median", "75th", "Max"),
                [_cells(r["age_group"], r["label"], r["exams"], f"{r['median']:.4g} {r['unit']}", f"{r['p75']:.4g}",
                        f"{r['max']:.4g}") for r in tables.exams_by_age],
                "No exam carries a dose value.",
                "Per exam = over the study's irradiation events (StudyInstanceUID), localizers left out: DLP, DAP "
                "and dose at the reference point summed, CTDIvol as the max and the mean of the exam's "
                "acquisitions, fluoroscopy time summed over fluoroscopy events. Every exam is in exams.csv."),
        Section("Per standard exam", ("Standard exam", "Age group", "Per exam", "Exams", "Median", "75th", "Max"),
                [_cells(r["standard_exam"], r["age_group"], r["label"], r["exams"], f"{r['median']:.4g} {r['unit']}",
                        f"{r['p75']:.4g}", f"{r['max']:.4g}") for r in tables.by_standard_exam],
                "No exam is named by the exam-name table."),
        Section("Unmapped descriptions (add them to the exam-name table)",
                ("Requested procedure", "Study description", "Exams"),
                [_cells(r["requested_procedure_description"] or "(none)", r["study_description"] or "(none)",
                        r["exams"]) for r in tables.unmapped],
                "Every exam has a standard name."),
        Section("Exams whose total DLP exceeds the exam-level reference",
                ("Study", "Study date/time", "Age group", "Protocols", f"Total DLP ({dlp_unit})", "Exam level",
                 "Source"),
                [_cells(r["study_instance_uid"], r["study_datetime"], r["age_group"], r["protocols"],
                        f"{r['dlp_total']:.4g}", f"{r['dlp_level']:.4g}", r["dlp_source"])
                 for r in tables.exams if r["dlp_exceeds"]],
                "No exam's total DLP exceeds an exam-level DLP reference; exams.csv lists all."),
        outliers_section(tables.outliers),
    ]


def outliers_section(rows: Sequence[dict[str, Any]]) -> Section:
    """The outliers, each with its accession number and a link to its study in Orthanc Explorer."""
    shown = [_cells(Cell(r["study_instance_uid"] or "(no UID)", r.get("study_link") or ""),
                    r.get("accession_number") or "", r["study_datetime"], r["station"], r["protocol"],
                    f"{r['quantity']} {r['value']:.4g} {r['unit']}", f"{r['protocol_median']:.4g}", r["reason"])
             for r in rows[:OUTLIERS_SHOWN]]
    return Section("Outliers", ("Study", "Accession number", "Study date/time", "Scanner", "Protocol", "Value",
                                "Protocol median", "Reason"), shown,
                   "No event is above its reference level or its protocol's outlier factor.",
                   more=f"{len(rows) - OUTLIERS_SHOWN} more in outliers.csv." if len(rows) > OUTLIERS_SHOWN else "")


@dataclass
class Summary:
    """Everything both renderings show: title, headline lines, tables, and the chart files in order."""

    title: str
    items: list[tuple[str, str]]
    sections: list[Section]
    charts: list[str] = field(default_factory=list)
