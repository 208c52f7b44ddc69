"""The quarterly dose report's three steps (search -> compute -> write), free of Airflow.

The DAG ``copydicom_dose_report`` runs one step per task; each step reads what the previous one
wrote into the report's folder, so a retried task repeats only its own step.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from copydicom_provider.config import REPORT_DIR
from copydicom_provider.explorer import without_credentials
from copydicom_provider.reports.collect import Searcher, check_index, collect
from copydicom_provider.reports.exam_names import load_exam_names
from copydicom_provider.reports.pdf import PDF_FILE, pdf_report
from copydicom_provider.reports.period import quarter_bounds, resolve_period, time_zone
from copydicom_provider.reports.reference_levels import load_reference_table
from copydicom_provider.reports.summary import Summary, sections, summary_items
from copydicom_provider.reports.writer import (
    compute_tables,
    read_data,
    summary_counts,
    write_charts,
    write_data,
    write_summary,
    write_tables,
)


def default_output_dir() -> Path:
    """Where reports go when the run names no folder: ``$COPYDICOM_REPORT_DIR``, else under AIRFLOW_HOME."""
    configured = REPORT_DIR.raw()
    if configured:
        return Path(configured)
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow") / "copydicom_reports"


def report_folder(output_dir: str | None, index: str, label: str) -> Path:
    return Path(output_dir or default_output_dir()) / check_index(index) / label


def check_params(index: str, quarter: str | None, reference_levels: str | None, outlier_factor: Any,
                 exam_names: str | None = None, zone: str | None = None) -> None:
    """Refuse bad input before searching; raises ValueError naming what is wrong."""
    check_index(index)
    time_zone(zone)
    if quarter:
        quarter_bounds(quarter)
    load_reference_table(reference_levels)
    load_exam_names(exam_names)
    if not isinstance(outlier_factor, (int, float)) or not outlier_factor > 1:
        raise ValueError(f"outlier_factor must be a number above 1, not {outlier_factor!r}")


def search_step(hook: Searcher, index: str, output_dir: str | None, quarter: str | None,
                interval_start: datetime | None, interval_end: datetime | None,
                zone: str | None = None) -> dict[str, Any]:
    """Stream the period's records from Splunk into ``<folder>/data``; returns where and what.

    ``zone`` (an IANA name, default UTC) is the clock the run's interval is read on (reports.period).
    """
    label, start, end = resolve_period(quarter, interval_start, interval_end, zone=zone)
    folder = report_folder(output_dir, index, label)
    collected = collect(hook, index, start, end)
    write_data(folder, collected)
    print(f"dose report {label} [{start:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M}) on the scanners' clock "
          f"({time_zone(zone).key}) on index {index}: "
          f"{len(collected.events)} irradiation events ({collected.duplicates} resent copies skipped), "
          f"{collected.instances} instance records -> {folder}")
    return {"folder": str(folder), "label": label, "index": index, "start": start.isoformat(), "end": end.isoformat(),
            "time_zone": time_zone(zone).key,
            "irradiation_events": len(collected.events), "duplicates_skipped": collected.duplicates}


def _period(found: dict[str, Any]) -> tuple[datetime, datetime]:
    """The period ``search_step`` returned (ISO strings through XCom), for the per-day rows."""
    return datetime.fromisoformat(found["start"]), datetime.fromisoformat(found["end"])


def compute_step(found: dict[str, Any], reference_levels: str | None, outlier_factor: float,
                 orthanc_url: str | None = None, exam_names: str | None = None) -> dict[str, Any]:
    """The CSV tables (dashboard statistics, local vs reference levels, outliers linked to ``orthanc_url``)."""
    folder = Path(found["folder"])
    table = load_reference_table(reference_levels)
    collected = read_data(folder)
    link_base = without_credentials(orthanc_url) if orthanc_url else None
    names = load_exam_names(exam_names)
    tables = compute_tables(collected, table, outlier_factor, _period(found), link_base, names)
    files = write_tables(folder, tables)
    counts = summary_counts(collected, tables)
    print(f"dose report {found['label']}: wrote {', '.join(files)}; protocols above reference: "
          f"{counts['protocols_above_reference'] or 'none'}")
    return {**found, "tables": files, "counts": counts, "reference_levels": table.origin,
            "reference_path": reference_levels or None, "outlier_factor": outlier_factor, "orthanc_url": link_base,
            "exam_names": names.origin, "exam_names_path": exam_names or None}


def write_step(computed: dict[str, Any]) -> dict[str, Any]:
    """The charts (PNG), the one-page HTML summary linking everything, and the same report as a PDF."""
    folder = Path(computed["folder"])
    table = load_reference_table(computed["reference_path"])
    collected = read_data(folder)
    tables = compute_tables(collected, table, computed["outlier_factor"], _period(computed),
                            computed.get("orthanc_url"), load_exam_names(computed.get("exam_names_path")))
    title = f"Dose and utilisation report {computed['label']} (index {computed['index']})"
    shown = tuple(f"{moment:%Y-%m-%d %H:%M}" for moment in _period(computed))
    summary = Summary(title, summary_items((shown[0], shown[1]), computed.get("time_zone", "UTC"), computed["counts"],
                                           computed["reference_levels"]), sections(tables))
    with pdf_report(folder, title) as document:
        document.front(summary)
        summary.charts = write_charts(folder, collected, tables, document.add_figure)
    page = write_summary(folder, summary)
    print(f"dose report {computed['label']}: {folder / page} and {folder / PDF_FILE} with "
          f"{len(summary.charts)} chart(s)")
    return {k: v for k, v in computed.items() if k != "tables"} | {
        "summary": str(folder / page), "pdf": str(folder / PDF_FILE), "charts": summary.charts,
        "tables": computed["tables"]}
