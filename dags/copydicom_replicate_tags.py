"""DAG ``copydicom_replicate_tags``: index an Orthanc's DICOM tags (and flat dose reports) in Splunk."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import DAG, Param, task
from airflow.timetables.interval import CronDataIntervalTimetable

from copydicom_provider.assets import SPLUNK_TAGS
from copydicom_provider.core.tags import TagsSummary
from copydicom_provider.core.window import WINDOW_KINDS, enumerate_candidates, resolve_window
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.operators.replicate_tags import ReplicateTagsOperator


DOC = """
### Index DICOM tags in Splunk

Sends every instance's tags to Splunk over HEC, never twice (before sending, each batch asks the
index which instances it already holds), as sourcetype `_json` records told apart by `RecordType`:

* `instance`: the instance's tags, full length (read from the file, so nothing over 256 characters
  is lost), plus `OrthancInstanceID`/`SeriesID`/`StudyID`/`PatientID`, `OrthancSource`, `ReceptionDate`;
  event time = StudyDate + StudyTime (read as UTC), else the reception time;
* `dose_report` and `irradiation_event` (one per acquisition) for X-ray/CT Radiation Dose SRs, flat:
  `RecordType=irradiation_event | dedup IrradiationEventUID | stats avg(CTDIvol) median(DLP) count by AcquisitionProtocol`.

* **Scheduled runs** (hourly) index what the source *received* during the run's data interval
  (UTC); `airflow backfill create --dag-id copydicom_replicate_tags ...` replays past intervals.
* **Manual runs** take the form: `window` = `received` (interval or `since`/`until`),
  `study_date` (inclusive range) or `all`; `index`/`sourcetype` override the Splunk connection's.
* `enumerate` lists candidates once, `index` is mapped over batches, `summarize` adds them up and
  updates the asset `copydicom://splunk/tags` (its event's extra holds the counts).
* One malformed instance fails its batch's task after the rest of the batch is indexed; the task
  names up to ten failures, and a retry sends only what is still missing.
"""

SCHEDULE = os.environ.get("COPYDICOM_REPLICATE_TAGS_SCHEDULE", "@hourly")

PARAMS = {
    "source_conn_id": Param("orthanc_source", type="string", title="Source connection",
                            description="Airflow connection (type orthanc) whose instances are indexed"),
    "splunk_conn_id": Param("splunk_default", type="string", title="Splunk connection",
                            description="Airflow connection (type splunk): HEC token and search credentials"),
    "index": Param(None, type=["null", "string"], title="Splunk index",
                   description="Overrides the connection's index"),
    "sourcetype": Param(None, type=["null", "string"], title="Sourcetype",
                        description="Overrides the connection's sourcetype (default _json)"),
    "window": Param("received", type="string", enum=list(WINDOW_KINDS), title="Window",
                    description="received: the run's interval or since/until; study_date: by StudyDate; all: everything"),
    "since": Param(None, type=["null", "string"], format="date-time", title="Received since (UTC)",
                   description="Overrides the interval start for window=received"),
    "until": Param(None, type=["null", "string"], format="date-time", title="Received until (UTC, exclusive)"),
    "study_date_from": Param(None, type=["null", "string"], format="date", title="First study date"),
    "study_date_to": Param(None, type=["null", "string"], format="date", title="Last study date (inclusive)"),
    "dry_run": Param(False, type="boolean", title="Dry run", description="Count what would be sent; send nothing"),
}

with DAG(
    dag_id="copydicom_replicate_tags",
    description="Index every DICOM instance's tags, and dose reports as flat records, in Splunk",
    schedule=CronDataIntervalTimetable(SCHEDULE, timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    params=PARAMS,
    render_template_as_native_obj=True,
    doc_md=DOC,
    tags=["dicom", "orthanc", "splunk", "copydicom"],
    default_args={
        "owner": "radiology-it",
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    },
):

    @task(task_id="enumerate")
    def enumerate_batches(params: dict[str, Any], data_interval_start=None, data_interval_end=None) -> list[dict]:
        """List the window's candidates once and cut them into batches for the mapped index tasks."""
        window = resolve_window(
            params["window"],
            since=params.get("since"),
            until=params.get("until"),
            study_date_from=params.get("study_date_from"),
            study_date_to=params.get("study_date_to"),
            interval_start=data_interval_start,
            interval_end=data_interval_end,
        )
        source = OrthancHook(params["source_conn_id"])
        candidates = enumerate_candidates(source, window)
        batches = candidates.split()
        print(
            f"{window.describe()}: {len(candidates.studies)} studies and {len(candidates.instances)} "
            f"instances on {source.url}, in {len(batches)} batch(es)"
        )
        return [batch.as_dict() for batch in batches]

    indexed = ReplicateTagsOperator.partial(
        task_id="index",
        source_conn_id="{{ params.source_conn_id }}",
        splunk_conn_id="{{ params.splunk_conn_id }}",
        index="{{ params.index }}",
        sourcetype="{{ params.sourcetype }}",
        dry_run="{{ params.dry_run }}",
    ).expand(batch=enumerate_batches())

    @task(outlets=[SPLUNK_TAGS])
    def summarize(summaries, outlet_events=None) -> dict[str, Any]:
        """Add the mapped batches' summaries up: the run's result, also on the asset event."""
        total = TagsSummary()
        for part in summaries:
            total.merge(TagsSummary.from_dict(part))
        print(f"summary: {total.line()}")
        result = total.as_dict()
        if outlet_events is not None:
            outlet_events[SPLUNK_TAGS].extra = {k: result[k] for k in TagsSummary.COUNTS} | {"dry_run": total.dry_run}
        return result

    summarize(indexed.output)
