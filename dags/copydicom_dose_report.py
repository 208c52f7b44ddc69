"""DAG ``copydicom_dose_report``: the quarterly dose and utilisation report, for people who do not use Splunk."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow.sdk import Param, task

from copydicom_provider.dag_building.job_dag import job_dag
from copydicom_provider.dag_building.support import (
    DEFAULT_ARGS,
    airflow_time_zone,
    explorer_link_param,
    interval_timetable,
    source_explorer_base,
    splunk_search_params,
    worker_table_param,
)
from copydicom_provider.hooks.splunk import SplunkHook
from copydicom_provider.jobs.fail_fast import fail_fast, refused_input_reason
from copydicom_provider.jobs.run_checks import check_run
from copydicom_provider.reports.quarterly import check_params, compute_step, search_step, write_step
from copydicom_provider.reports.statistics import OUTLIER_FACTOR

DOC = """
### Quarterly dose and utilisation report

Each run covers one calendar quarter on the scanners' clock: the scheduled run at midnight starting a
quarter in Airflow's `default_timezone` reports the quarter that just ended there; a backfill reports past ones
(`airflow backfill create --dag-id copydicom_dose_report --from-date 2025-01-01 --to-date 2025-12-31`
gives 2025's four quarters). A manual run reports the `quarter` field (`2025-Q3`), else the last
complete quarter.

* `search` streams the quarter's `irradiation_event` and `instance` records from Splunk (event time
  = study date/time), counts each event once by `IrradiationEventUID`, and keeps them in `data/`;
* `compute` writes the CSV tables: count, mean, median, 75th percentile and max per protocol and
  per protocol and scanner, monthly medians, local level (median) against the reference-level
  table, outliers, studies per modality per day, and per exam (study): total DLP, CTDIvol max and
  mean, DAP, dose at the reference point, fluoroscopy time, adult/paediatric; localizers are counted
  but kept out of the protocol and exam figures; DAP is shown in Gy.cm2 (the records keep Gy.m2);
* `write` draws the PNG charts (per standard exam, per protocol, per scanner, per month, per day),
  `index.html`, the one-page summary that links everything, and `report.pdf`, the same tables and
  charts to print or file, outliers linked to their study.

Study times carry no zone in DICOM, so the records keep each scanner's own clock; `time_zone` (default:
Airflow's `default_timezone`) is the zone a run's interval is read in. Files go to
`<output_dir>/<index>/<YYYY-Qn>/`; a rerun replaces them.
"""


PARAMS = {
    **splunk_search_params(),
    "quarter": Param(None, type=["null", "string"], pattern="^[0-9]{4}-?[Qq][1-4]$", title="Quarter",
                     description="Overrides the run's interval, e.g. 2025-Q3"),
    "output_dir": Param(None, type=["null", "string"], title="Output folder",
                        description="Default: $COPYDICOM_REPORT_DIR, else copydicom_reports under AIRFLOW_HOME"),
    "reference_levels": worker_table_param("Reference-level table (CSV)", "reference-level"),
    "exam_names": worker_table_param("Exam-name table (CSV)", "exam-name"),
    "orthanc_url": explorer_link_param("outliers"),
    "time_zone": Param(None, type=["null", "string"], title="Time zone",
                       description="The zone the run's interval is read in (IANA name), e.g. America/Chicago; "
                                   "default: Airflow's default_timezone"),
    "outlier_factor": Param(OUTLIER_FACTOR, type="number", exclusiveMinimum=1, title="Outlier factor",
                            description="An event above this many times its protocol's median is an outlier"),
}

#: The scheduled run fires at midnight starting a quarter on this clock, once the quarter has ended there.
ZONE = airflow_time_zone()

with job_dag(
    "copydicom_dose_report",
    description="Quarterly dose report (CSV, PNG, HTML) from the dose records in Splunk",
    schedule=interval_timetable("0 0 1 */3 *", ZONE),
    params=PARAMS,
    doc_md=DOC,
    tags=["dicom", "splunk", "dose", "copydicom"],
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    max_active_runs=2,
    render_template_as_native_obj=False,
    default_args={k: v for k, v in DEFAULT_ARGS.items() if k != "pool"},  # Splunk only: not the Orthanc pool
):

    @task
    def search(params: dict[str, Any], data_interval_start=None, data_interval_end=None, ti=None) -> dict[str, Any]:
        """Stream the quarter's records from Splunk, each irradiation event once, into the report's data folder."""
        with fail_fast(ti=ti):  # an unknown connection, or one of another type, fails now in one sentence
            check_run({"splunk_conn_id": params["splunk_conn_id"]})
        hook = SplunkHook(params["splunk_conn_id"])
        index = params.get("index") or hook.settings.index or "main"
        with fail_fast(refused_input_reason, ti):  # bad input is not transient: fail now, before a quarter's search
            check_params(index, params.get("quarter"), params.get("reference_levels"), params.get("outlier_factor"),
                         params.get("exam_names"), params.get("time_zone") or ZONE)
        return search_step(hook, index, params.get("output_dir"), params.get("quarter"),
                           data_interval_start, data_interval_end, params.get("time_zone") or ZONE)

    @task
    def compute(found: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """The CSV tables, computed in Python from the collected events."""
        return compute_step(found, params.get("reference_levels"), float(params["outlier_factor"]),
                            params.get("orthanc_url") or source_explorer_base(), params.get("exam_names"))

    @task
    def write(computed: dict[str, Any]) -> dict[str, Any]:
        """The PNG charts, the one-page HTML summary and the PDF."""
        return write_step(computed)

    write(compute(search()))  # type: ignore[call-arg,arg-type]  # Airflow passes params; XComArgs resolve
