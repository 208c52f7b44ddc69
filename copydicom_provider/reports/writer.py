"""Put the report on disk: the collected data, CSV tables, charts and a one-page HTML summary.

Every file is written to a ``.partial`` name and renamed into place, so a rerun (or a retry after a
crash) replaces a whole file or leaves the previous one; nothing half-written is ever linked.
"""

from __future__ import annotations

import csv
import html
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from copydicom_provider.explorer import explorer_url
from copydicom_provider.reports import age, charts, exams, statistics
from copydicom_provider.reports.collect import Collected, DoseEvent
from copydicom_provider.reports.exam_names import ExamNameTable, unmapped_rows
from copydicom_provider.reports.pdf import PDF_FILE
from copydicom_provider.reports.reference_levels import ReferenceTable
from copydicom_provider.reports.summary import Cell, Section, Summary

DATA_DIR = "data"
EVENTS_FILE = "events.jsonl"
COLLECTION_FILE = "collection.json"
SUMMARY_FILE = "index.html"

TABLES = {
    "dose_by_protocol.csv": "Dose per acquisition protocol",
    "dose_by_protocol_and_scanner.csv": "Dose per protocol and scanner (StationName)",
    "reference_levels.csv": "Local level (median) against the national reference level",
    "monthly_medians.csv": "Monthly medians per protocol",
    "outliers.csv": "Events above the reference level or above N x their protocol's median",
    "studies_per_modality_per_day.csv": "Studies per modality per day (every day of the period; 0: none)",
    "exams.csv": "Per exam (study): total DLP, CTDIvol max and mean, DAP, dose at the reference point, "
                 "fluoroscopy time, age group, DLP level for the whole exam",
    "exams_by_age_group.csv": "Per-exam figures per age group (adult 18 or over, paediatric, unknown)",
    "exams_by_standard_exam.csv": "Per-exam figures per standard exam name and age group",
    "unmapped_descriptions.csv": "Descriptions of exams the exam-name table does not name: what to map next",
}


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def write_data(folder: Path, collected: Collected) -> Path:
    """The search's result, so that compute and write (separate tasks) read it without searching again."""
    data = folder / DATA_DIR
    _replace(data / EVENTS_FILE, "".join(json.dumps(e.as_dict(), sort_keys=True) + "\n" for e in collected.events))
    _replace(data / COLLECTION_FILE, json.dumps({
        "duplicates": collected.duplicates, "unusable": collected.unusable, "instances": collected.instances,
        "studies": [[day, modality, sorted(uids)] for (day, modality), uids in sorted(collected.studies.items())],
    }, indent=1))
    return data


def read_data(folder: Path) -> Collected:
    data = folder / DATA_DIR
    try:
        lines = (data / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
        extra = json.loads((data / COLLECTION_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{exc.filename} is missing: the report's search task has not written it") from None
    return Collected(
        events=[DoseEvent.from_dict(json.loads(line)) for line in lines if line.strip()],
        duplicates=extra["duplicates"], unusable=extra["unusable"], instances=extra["instances"],
        studies={(day, modality): set(uids) for day, modality, uids in extra["studies"]},
    )


def _csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    class _Buffer(list):
        def write(self, text: str) -> None:
            self.append(text)

    buffer = _Buffer()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return "".join(buffer)


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"
    if value is None:
        return ""
    return value


DOSE_COLUMNS = ("quantity", "unit", "count", "mean", "median", "p75", "max")


@dataclass
class Tables:
    by_protocol: list[dict[str, Any]]
    by_scanner: list[dict[str, Any]]
    reference: list[dict[str, Any]]
    monthly: list[dict[str, Any]]
    outliers: list[dict[str, Any]]
    studies: list[dict[str, Any]]
    exams: list[dict[str, Any]]
    exams_by_age: list[dict[str, Any]]
    localizers: int
    by_standard_exam: list[dict[str, Any]]
    unmapped: list[dict[str, Any]]


def compute_tables(collected: Collected, table: ReferenceTable, factor: float,
                   period: tuple[datetime, datetime] | None = None, orthanc_url: str | None = None,
                   names: ExamNameTable | None = None) -> Tables:
    """Protocol and exam statistics over the scans; localizers are only counted; per-day rows cover ``period``.

    With ``orthanc_url`` (the Orthanc Explorer the physicist reaches), each outlier links to its study's page.
    """
    events, localizers = exams.split_localizers(collected.events)
    per_exam = exams.exam_rows(collected.events, table, names)
    outlier_rows = statistics.outliers(events, table, factor)
    for row in outlier_rows:
        study = row["orthanc_study_id"]
        row["study_link"] = explorer_url(orthanc_url, study) if orthanc_url and study else ""
    return Tables(
        by_protocol=statistics.dose_table(events, ("protocol",)),
        by_scanner=statistics.dose_table(events, ("protocol", "station")),
        reference=statistics.reference_comparison(events, table),
        monthly=statistics.monthly_medians(events),
        outliers=outlier_rows,
        studies=statistics.studies_per_modality_per_day(collected.studies, period),
        exams=per_exam,
        exams_by_age=exams.exams_by_age_group(per_exam),
        localizers=len(localizers),
        by_standard_exam=exams.exams_by_standard_exam(per_exam),
        unmapped=unmapped_rows(per_exam),
    )


def write_tables(folder: Path, tables: Tables) -> list[str]:
    files = {
        "dose_by_protocol.csv": (tables.by_protocol, ("protocol", *DOSE_COLUMNS)),
        "dose_by_protocol_and_scanner.csv": (tables.by_scanner, ("protocol", "station", *DOSE_COLUMNS)),
        "reference_levels.csv": (tables.reference, (
            "protocol", "target_region", "target_region_code", "quantity", "unit", "count", "local_level",
            "national_level", "ratio", "exceeds", "matched_by", "examination", "source")),
        "monthly_medians.csv": (tables.monthly, ("protocol", "month", "quantity", "unit", "count", "median")),
        "outliers.csv": (tables.outliers, (
            "irradiation_event_uid", "study_instance_uid", "accession_number", "study_datetime", "station",
            "protocol", "quantity", "unit", "value", "protocol_median", "national_level", "reason",
            "orthanc_study_id", "study_link")),
        "studies_per_modality_per_day.csv": (tables.studies, ("day", "modality", "studies")),
        "exams.csv": (tables.exams, exams.EXAM_COLUMNS),
        "exams_by_age_group.csv": (tables.exams_by_age, (
            "age_group", "quantity", "label", "unit", "exams", "mean", "median", "p75", "max")),
        "exams_by_standard_exam.csv": (tables.by_standard_exam, (
            "standard_exam", "age_group", "quantity", "label", "unit", "exams", "mean", "median", "p75", "max")),
        "unmapped_descriptions.csv": (tables.unmapped, (
            "requested_procedure_description", "study_description", "exams")),
    }
    for name, (rows, columns) in files.items():
        _replace(folder / name, _csv_text(rows, columns))
    return list(files)


def write_charts(folder: Path, collected: Collected, tables: Tables,
                 also: Callable[[Figure], None] | None = None) -> list[str]:
    """The PNG charts; ``also`` receives each figure too (the PDF's pages)."""
    folder.mkdir(parents=True, exist_ok=True)
    save = charts.ChartSaver(folder, also)
    return [
        *charts.exam_charts(tables.exams, save),
        *charts.distribution_charts(exams.split_localizers(collected.events)[0], save),
        *charts.scanner_charts(tables.by_scanner, save),
        *charts.monthly_median_charts(tables.monthly, save),
        *charts.studies_chart(tables.studies, save),
    ]


def summary_counts(collected: Collected, tables: Tables) -> dict[str, Any]:
    span = collected.time_range()
    return {
        "irradiation_events": len(collected.events),
        "duplicates_skipped": collected.duplicates,
        "unusable_values": dict(collected.unusable),
        "studies_with_dose_events": len({e.study_uid for e in collected.events if e.study_uid}),
        "localizers": tables.localizers,
        "exams": len(tables.exams),
        "exams_by_age_group": {g: n for g in age.GROUPS
                               if (n := sum(1 for r in tables.exams if r["age_group"] == g))},
        "exams_above_dlp_level": sum(1 for r in tables.exams if r["dlp_exceeds"]),
        "exams_unmapped": sum(r["exams"] for r in tables.unmapped),
        "exams_with_values_set_aside": sum(1 for r in tables.exams if r["set_aside"]),
        "protocols": len({e.protocol for e in exams.split_localizers(collected.events)[0]}),
        "scanners": len({e.station for e in collected.events}),
        "instances": collected.instances,
        "studies": len({uid for uids in collected.studies.values() for uid in uids}),
        "protocols_above_reference": sorted({(r["protocol"]) for r in tables.reference if r["exceeds"]}),
        "outlier_events": len({r["irradiation_event_uid"] for r in tables.outliers}),
        "first_event": span[0] if span else None,
        "last_event": span[1] if span else None,
    }


def _html_cell(cell: Cell) -> str:
    text = html.escape(cell.text)
    return f'<a href="{html.escape(cell.link)}">{text}</a>' if cell.link else text


def _html_section(section: Section) -> str:
    """A section's heading and table, or the sentence saying why there is none."""
    e = html.escape
    if section.rows:
        head = "".join(f"<th>{e(h)}</th>" for h in section.headers)
        body = "".join("<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in row) + "</tr>" for row in section.rows)
        content = f"<table><tr>{head}</tr>{body}</table>"
    else:
        content = f"<p>{e(section.empty)}</p>"
    notes = "".join(f"<p>{e(n)}</p>" for n in (section.more, section.note) if n)
    return f"<h2>{e(section.title)}</h2>{content}{notes}"


def write_summary(folder: Path, summary: Summary) -> str:
    """One HTML page (opens in any browser, no Splunk) with the counts, the tables, links and the charts."""
    e = html.escape
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in summary.items)
    links = "".join(f'<li><a href="{e(name)}">{e(name)}</a>: {e(text)}</li>' for name, text in TABLES.items())
    sections = "".join(_html_section(section) for section in summary.sections)
    images = "".join(f'<figure><img src="{e(p)}" alt="{e(p)}"><figcaption>{e(p)}</figcaption></figure>'
                     for p in summary.charts)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(summary.title)}</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:1em auto}}th{{text-align:left}}
td,th{{padding:2px 8px;border-bottom:1px solid #ddd}}img{{max-width:100%}}</style></head>
<body><h1>{e(summary.title)}</h1>
<table>{rows}</table>
{sections}
<h2>The report as a PDF</h2><p><a href="{e(PDF_FILE)}">{e(PDF_FILE)}</a>: these tables and charts, to print or file.</p>
<h2>Tables (CSV)</h2><ul>{links}</ul>
<h2>Charts</h2>{images}
</body></html>
"""
    _replace(folder / SUMMARY_FILE, page)
    return SUMMARY_FILE
