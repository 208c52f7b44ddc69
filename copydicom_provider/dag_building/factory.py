"""The replicate DAG, built once for every DAG that copies Orthanc to Orthanc.

``dags/copydicom_replicate.py`` (hourly) and ``dags/copydicom_monitor.py`` (every 30 s, for low
latency) are this one DAG with another id and schedule; each keeps its own cursor.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Asset, Param, task

from copydicom_provider.compat import AssetOrTimeSchedule
from copydicom_provider.dag_building.job_dag import from_params, job_dag, mapped_job
from copydicom_provider.dag_building.support import SUMMARIZE_TASK, interval_timetable, summarize_batches, window_params
from copydicom_provider.jobs.summary import ReplicationSummary
from copydicom_provider.operators.replicate import ReplicateOperator

REPLICATE_DOC = """
### Replicate DICOM from a source Orthanc to a destination Orthanc

Copies every instance the destination lacks, never twice (Orthanc IDs are the same on both sides).

* **Scheduled runs** (every schedule interval) copy what the source *received* since the previous scheduled run:
  each takes up at a cursor on the source's change log (kept in the Airflow Variable
  `copydicom_cursor.copydicom_replicate.<source>.<destination>`), so a stopped scheduler, a paused
  DAG or a failed run loses nothing; the first run starts at its data interval. Instances that
  re-arrive with other content (corrections) replace the destination's copy. The cursor records
  the change at its position, so a source whose database was replaced or restored, a cleared
  change log, or a Variable edited to junk is logged as an ERROR and reconciled (every study).
* Received windows are read on the **source's clock** (`GET /tools/now` at the start of the run),
  so a source whose clock is behind or ahead of the workers' still fills each window.
* **Backfill runs** copy what the source received in their data interval
  `[data_interval_start, data_interval_end)` (UTC):
  `airflow backfill create --dag-id copydicom_replicate --from-date ... --to-date ...`.
* **Manual runs** take the form's parameters: `window` = `received` (the run's interval, or
  `since`/`until`), `study_date` (`study_date_from`..`study_date_to`, inclusive), or `all`.
  A `received` run with no interval and no `since`/`until` copies everything the destination lacks.
* `enumerate` lists candidates once; `copy` is mapped over batches of studies/instances, so a large
  window spreads over the executor's workers; `summarize` adds the batches up (XCom), also when a
  batch failed (it names the batches, moves the cursor past finished work only, and fails the run).
"""


def replicate_params() -> dict[str, Param]:
    return {
        "source_conn_id": Param("orthanc_source", type="string", title="Source connection",
                                description="Airflow connection (type orthanc) to copy from"),
        "destination_conn_id": Param("orthanc_destination", type="string", title="Destination connection",
                                     description="Airflow connection (type orthanc) to copy to"),
        "mode": Param("rest", type="string", enum=["rest", "peer"], title="Transfer mode",
                      description="rest: the worker streams files; "
                                  "peer: the source pushes through an Orthanc peer job"),
        "verify": Param(False, type="boolean", title="Verify",
                        description="Compare the MD5 of every instance of the window on both sides (corrections of "
                                    "whole studies included) and of every copy"),
        **window_params("copied"),
    }


def replicate_dag(dag_id: str, schedule: str, description: str, extra_doc: str = "",
                  watch: Asset | None = None) -> DAG:
    """enumerate -> copy (mapped over batches) -> summarize, on a real-interval ``schedule``, and also
    whenever the ``watch`` asset is updated (the source's change log watched by the triggerer)."""
    timetable: Any = interval_timetable(schedule)  # the scheduler's class; the SDK's AssetOrTimeSchedule takes it
    if watch is not None:
        timetable = AssetOrTimeSchedule(timetable=timetable, assets=[watch])
    with job_dag(
        dag_id,
        description=description,
        schedule=timetable,
        params=replicate_params(),
        doc_md=REPLICATE_DOC.replace("copydicom_replicate", dag_id) + extra_doc,
        tags=["dicom", "orthanc", "copydicom"],
    ) as dag:
        copies = mapped_job(
            ReplicateOperator, "copy", lambda params: params["destination_conn_id"],
            **from_params("source_conn_id", "destination_conn_id", "mode", "dry_run", "verify"),
        )

        @task(**SUMMARIZE_TASK)
        def summarize(**context) -> dict[str, Any]:
            """Add the mapped copies' summaries up, finished or not: the run's result."""
            return summarize_batches(ReplicationSummary, "copy", context)

        copies >> summarize()
    return dag
