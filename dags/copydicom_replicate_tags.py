"""DAG ``copydicom_replicate_tags``: index an Orthanc's DICOM tags (and flat dose reports) in Splunk."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from airflow.sdk import Param, task

from copydicom_provider import config
from copydicom_provider.assets import SPLUNK_TAGS
from copydicom_provider.compat import AirflowSkipException
from copydicom_provider.dag_building.job_dag import from_params, job_dag, mapped_job
from copydicom_provider.dag_building.support import SUMMARIZE_TASK, interval_timetable, summarize_batches, window_params
from copydicom_provider.jobs.summary import TagsSummary
from copydicom_provider.operators.replicate_tags import ReplicateTagsOperator

DOC = """
### Index DICOM tags in Splunk

Sends every instance's tags to Splunk over HEC, never twice (before sending, each batch asks the
index which instances it already holds), as sourcetype `_json` records told apart by `RecordType`:

* `instance`: the instance's tags, full length (read from the file, so nothing over 256 characters
  is lost), plus `OrthancInstanceID`/`SeriesID`/`StudyID`/`PatientID`, `OrthancSource`, `ReceptionDate`;
  event time = StudyDate + StudyTime (read as UTC), else the reception time;
* `dose_report` and `irradiation_event` (one per acquisition) for X-ray/CT Radiation Dose SRs, flat:
  `RecordType=irradiation_event | dedup IrradiationEventUID
  | stats avg(CTDIvol) median(DLP) count by AcquisitionProtocol`.

* **Scheduled runs** (hourly) index what the source *received* since the previous scheduled run,
  from a cursor on the source's change log kept in the Airflow Variable
  `copydicom_cursor.copydicom_replicate_tags.<source>.<splunk>.<index>` (an outage loses nothing);
  backfill runs index their data interval (UTC): `airflow backfill create --dag-id copydicom_replicate_tags ...`.
* **Manual runs** take the form: `window` = `received` (interval or `since`/`until`),
  `study_date` (inclusive range) or `all`; `index`/`sourcetype` override the Splunk connection's.
* `enumerate` lists candidates once, `index` is mapped over batches, `summarize` adds them up and
  updates the asset `copydicom://splunk/tags` (its event's extra holds the counts).
* One malformed instance fails its batch's task after the rest of the batch is indexed; the task
  names up to ten failures, and a retry sends only what is still missing.
* `verify` (on by default, so scheduled runs verify): after sending, each batch asks the index for
  every record it sent, within the Splunk connection's `settle_delay`, sends what is missing once
  more and fails what is still missing. It catches what HEC's reply cannot show (a proxy answering
  success without storing) for one search per 1000 records plus the index's lag (seconds).
"""

SCHEDULE = config.REPLICATE_TAGS_SCHEDULE.value()

PARAMS = {
    "source_conn_id": Param("orthanc_source", type="string", title="Source connection",
                            description="Airflow connection (type orthanc) whose instances are indexed"),
    "splunk_conn_id": Param("splunk_default", type="string", title="Splunk connection",
                            description="Airflow connection (type splunk): HEC token and search credentials"),
    "index": Param(None, type=["null", "string"], title="Splunk index",
                   description="Overrides the connection's index"),
    "sourcetype": Param(None, type=["null", "string"], title="Sourcetype",
                        description="Overrides the connection's sourcetype (default _json)"),
    **window_params("sent"),
    "verify": Param(True, type="boolean", title="Verify in the index",
                    description="After sending, ask the index for every record sent and send what it lacks "
                                "once more (costs one search per 1000 records and the index's lag)"),
}

with job_dag(
    "copydicom_replicate_tags",
    description="Index every DICOM instance's tags, and dose reports as flat records, in Splunk",
    schedule=interval_timetable(SCHEDULE),
    params=PARAMS,
    doc_md=DOC,
    tags=["dicom", "orthanc", "splunk", "copydicom"],
):
    indexed = mapped_job(
        ReplicateTagsOperator, "index", lambda params: f"{params['splunk_conn_id']}.{params.get('index') or 'default'}",
        **from_params("source_conn_id", "splunk_conn_id", "index", "sourcetype", "dry_run", "verify"),
    )

    @task(outlets=[SPLUNK_TAGS], **SUMMARIZE_TASK)
    def summarize(outlet_events=None, **context) -> dict[str, Any]:
        """Add the mapped batches' summaries up, finished or not: the run's result, also on the asset event.

        The event's extra says when this run indexed (``indexed_since``/``indexed_until``), so that
        conditional-replicate searches only that. A dry run indexed nothing: its result is pushed
        and the task skipped, so no asset event triggers anything.
        """
        result = summarize_batches(TagsSummary, "index", context)
        if result["dry_run"]:
            context["ti"].xcom_push(key="return_value", value=result)
            raise AirflowSkipException("dry run: the tags asset is not updated")
        if outlet_events is not None:
            window = {}
            dag_run = context.get("dag_run")
            if dag_run is not None and dag_run.start_date:
                window = {"indexed_since": dag_run.start_date.isoformat(),
                          "indexed_until": datetime.now(timezone.utc).isoformat()}
            outlet_events[SPLUNK_TAGS].extra = (
                {k: result[k] for k in TagsSummary.COUNTS} | {"dry_run": False} | window
            )
        return result

    indexed >> summarize()
