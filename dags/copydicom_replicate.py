"""DAG ``copydicom_replicate``: keep a destination Orthanc in sync with a source Orthanc."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, Param, task
from airflow.timetables.interval import CronDataIntervalTimetable

from copydicom_provider.core.progress import ReplicationSummary
from copydicom_provider.dag_support import DEFAULT_ARGS, window_batches, window_params
from copydicom_provider.operators.replicate import ReplicateOperator

DOC = """
### Replicate DICOM from a source Orthanc to a destination Orthanc

Copies every instance the destination lacks, never twice (Orthanc IDs are the same on both sides).

* **Scheduled runs** (hourly) copy what the source *received* during the run's data interval
  `[data_interval_start, data_interval_end)`, read from Orthanc's change log (UTC).
  `airflow backfill create --dag-id copydicom_replicate --from-date ... --to-date ...` replays
  past intervals, each copying exactly what arrived in it.
* **Manual runs** take the form's parameters: `window` = `received` (the run's interval, or
  `since`/`until`), `study_date` (`study_date_from`..`study_date_to`, inclusive), or `all`.
  A `received` run with no interval and no `since`/`until` copies everything the destination lacks.
* `enumerate` lists candidates once; `copy` is mapped over batches of studies/instances, so a large
  window spreads over the executor's workers; `summarize` adds the batches up (XCom).
"""

#: Overridable for deployments that want another cadence; intervals stay real intervals.
SCHEDULE = os.environ.get("COPYDICOM_REPLICATE_SCHEDULE", "@hourly")

PARAMS = {
    "source_conn_id": Param("orthanc_source", type="string", title="Source connection",
                            description="Airflow connection (type orthanc) to copy from"),
    "destination_conn_id": Param("orthanc_destination", type="string", title="Destination connection",
                                 description="Airflow connection (type orthanc) to copy to"),
    "mode": Param("rest", type="string", enum=["rest", "peer"], title="Transfer mode",
                  description="rest: the worker streams files; peer: the source pushes through an Orthanc peer job"),
    "verify": Param(False, type="boolean", title="Verify", description="Compare MD5 of what landed"),
    **window_params("copied"),
}

with DAG(
    dag_id="copydicom_replicate",
    description="Copy every DICOM instance the destination Orthanc lacks",
    schedule=CronDataIntervalTimetable(SCHEDULE, timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    params=PARAMS,
    render_template_as_native_obj=True,
    doc_md=DOC,
    tags=["dicom", "orthanc", "copydicom"],
    default_args=DEFAULT_ARGS,
):

    @task(task_id="enumerate")
    def enumerate_batches(params: dict[str, Any], data_interval_start=None, data_interval_end=None) -> list[dict]:
        """List the window's candidates once and cut them into batches for the mapped tasks."""
        return window_batches(params, data_interval_start, data_interval_end)

    copies = ReplicateOperator.partial(
        task_id="copy",
        source_conn_id="{{ params.source_conn_id }}",
        destination_conn_id="{{ params.destination_conn_id }}",
        mode="{{ params.mode }}",
        dry_run="{{ params.dry_run }}",
        verify="{{ params.verify }}",
    ).expand(batch=enumerate_batches())

    @task
    def summarize(summaries) -> dict[str, Any]:
        """Add the mapped copies' summaries up: the run's result."""
        total = ReplicationSummary()
        for part in summaries:
            total.merge(ReplicationSummary.from_dict(part))
            total.mode = part.get("mode", total.mode)
        print(f"summary: {total.line()}")
        return total.as_dict()

    summarize(copies.output)
