"""DAG ``copydicom_dose_alerts``: after every tags run, tell someone about new scans and exams above alert values."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow.sdk import Param, Variable, get_current_context, task

from copydicom_provider.alerts.ledger import VARIABLE as SENT_VARIABLE
from copydicom_provider.alerts.ledger import SentLedger
from copydicom_provider.alerts.run import DEFAULT_LOOKBACK_DAYS, alert_step
from copydicom_provider.alerts.thresholds import load_threshold_table
from copydicom_provider.assets import SPLUNK_TAGS
from copydicom_provider.dag_building.job_dag import job_dag
from copydicom_provider.dag_building.support import (
    DEFAULT_ARGS,
    explorer_link_param,
    source_explorer_base,
    splunk_search_params,
    worker_table_param,
)
from copydicom_provider.explorer import without_credentials
from copydicom_provider.hooks.splunk import SplunkHook
from copydicom_provider.jobs.fail_fast import fail_fast, refused_input_reason
from copydicom_provider.jobs.run_checks import check_run
from copydicom_provider.notifications import settings as notify_settings
from copydicom_provider.notifications.send import send

#: Who is told: this Variable (same format as copydicom_notify), else copydicom_notify's recipients.
ALERTS_NOTIFY = "copydicom_dose_alerts_notify"

DOC = f"""
### Dose alerts

Runs after every successful `copydicom_replicate_tags` run (the `copydicom://splunk/tags` asset), or by hand.
It searches the index for irradiation events of studies of the last `lookback_days`, finds scans and exams at or
above the threshold table's values (shipped: AAPM's CT notification values and alert value for NEMA XR 25's dose
check, NCRP 168's substantial radiation dose levels for fluoroscopy) and sends one message per study through the
notifier in the Variable `{ALERTS_NOTIFY}` (else `copydicom_notify`), with its accession number and its
Orthanc Explorer link. Each alert is sent once: the Variable `{SENT_VARIABLE}` keeps what was told.
Alerts found with no notifier configured fail the run, and are sent by the next one. See docs/alerts.md.
"""

PARAMS = {
    **splunk_search_params(),
    "lookback_days": Param(DEFAULT_LOOKBACK_DAYS, type="number", exclusiveMinimum=0, title="Look back (days)",
                           description="Studies of this many days before the run are checked"),
    "thresholds": worker_table_param("Threshold table (CSV)", "alert threshold"),
    "orthanc_url": explorer_link_param("alerts"),
}


def _save(ledger: SentLedger) -> None:
    Variable.set(SENT_VARIABLE, ledger.as_dict(), serialize_json=True)


with job_dag(
    "copydicom_dose_alerts",
    description="Mail new scans and exams at or above dose notification values, once each",
    schedule=[SPLUNK_TAGS],
    params=PARAMS,
    doc_md=DOC,
    tags=["dicom", "splunk", "dose", "alerts", "copydicom"],
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    render_template_as_native_obj=False,
    default_args={k: v for k, v in DEFAULT_ARGS.items() if k != "pool"},  # Splunk only: not the Orthanc pool
):

    @task
    def alert(params: dict[str, Any], ti=None) -> dict[str, Any]:
        """Search, compare with the thresholds, send what is new, mark it sent."""
        with fail_fast(ti=ti):
            check_run({"splunk_conn_id": params["splunk_conn_id"]})
        with fail_fast(refused_input_reason, ti):  # a bad table or ledger is not transient
            table = load_threshold_table(params.get("thresholds"))
            ledger = SentLedger.load(Variable.get(SENT_VARIABLE, default=None))
            configured = notify_settings.read(ALERTS_NOTIFY) or notify_settings.read()
        hook = SplunkHook(params["splunk_conn_id"])
        context = dict(get_current_context())
        deliver = None if configured is None else (lambda message: send(configured, message, context))
        link = params.get("orthanc_url") or source_explorer_base()
        with fail_fast(refused_input_reason, ti):  # alerts and nobody to tell: a setting to fix, not to retry
            return alert_step(hook, params.get("index") or hook.settings.index or "main",
                              datetime.now(timezone.utc), float(params["lookback_days"]), table, ledger, deliver,
                              _save, without_credentials(link) if link else None)

    alert()  # type: ignore[call-arg]  # Airflow passes params
