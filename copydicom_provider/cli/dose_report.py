"""``copydicom dose-report``: the dose-report DAG's three steps in one process, from a Splunk URL.

Why here and not in the DAG: a physicist without Airflow gets the same report (the very steps of
:mod:`copydicom_provider.reports.quarterly`), so the two cannot differ. The Splunk client imports
Airflow's secret masker, so this command imports Airflow as the other commands do.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from copydicom_provider.jobs.replicate_tags import as_splunk
from copydicom_provider.reports.quarterly import check_params, compute_step, search_step, write_step


@dataclass
class DoseReportSummary:
    """What the command prints: where the report is and its headline counts."""

    written: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        keys = ("label", "index", "start", "end", "time_zone", "folder", "summary", "pdf", "irradiation_events",
                "duplicates_skipped",
                "counts", "reference_levels", "tables", "charts")
        return {key: self.written.get(key) for key in keys}

    def line(self) -> str:
        w = self.written
        return (f"{w['label']} on index {w['index']}: {w['irradiation_events']} irradiation events, "
                f"{w['counts'].get('exams', 0)} exams -> {w['summary']}")


def dose_report(args: argparse.Namespace) -> DoseReportSummary:
    """Check the input, then search, compute and write, as the DAG's tasks do (one step each)."""
    splunk = as_splunk(args.index)
    index = args.splunk_index or splunk.settings.index or "main"
    check_params(index, args.quarter, args.levels, args.outlier_factor, args.exam_names, args.time_zone)
    found = search_step(splunk, index, args.out, args.quarter, args.since, args.until, args.time_zone)
    computed = compute_step(found, args.levels, float(args.outlier_factor), args.orthanc_url, args.exam_names)
    return DoseReportSummary(write_step(computed))
