"""ReplicateOperator: copy what a destination Orthanc lacks, as one Airflow task."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from airflow.exceptions import AirflowException
from airflow.sdk import BaseOperator, Context

from copydicom_provider.core.progress import ReplicationSummary
from copydicom_provider.core.replication import copy_candidates
from copydicom_provider.core.window import Candidates, enumerate_candidates, resolve_window
from copydicom_provider.hooks.orthanc import OrthancHook


def _as_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in {"1", "true", "yes", "on"}


class ReplicateOperator(BaseOperator):
    """Copy every instance of a window (or of one ``batch``) that the destination lacks.

    :param source_conn_id: ``orthanc`` connection of the archive to copy from.
    :param destination_conn_id: ``orthanc`` connection of the archive to copy to.
    :param window: ``received`` (the run's data interval, or ``since``/``until``), ``study_date``
        (``study_date_from``/``study_date_to``, inclusive) or ``all``.
    :param batch: candidates prepared by an upstream enumeration (``{"studies": [...],
        "instances": [...]}``); when given, the window is not enumerated again. This is how the
        DAG maps copies over workers.
    :param mode: ``rest`` (the worker streams files) or ``peer`` (the source pushes).
    :param dry_run: plan only: count what would be copied.
    :param verify: compare the MD5 Orthanc recorded on both sides after each copy.

    Returns the summary (candidates, already present, copied, failed, bytes, seconds,
    instances/s) as XCom. When instances failed, the task fails naming up to ten of them with the
    server's reason, after pushing the summary under the XCom key ``summary``; a retry copies only
    what is still missing.
    """

    template_fields: Sequence[str] = (
        "source_conn_id",
        "destination_conn_id",
        "window",
        "since",
        "until",
        "study_date_from",
        "study_date_to",
        "batch",
        "mode",
        "dry_run",
        "verify",
    )
    ui_color = "#d7ecf7"

    def __init__(
        self,
        *,
        source_conn_id: str = "orthanc_source",
        destination_conn_id: str = "orthanc_destination",
        window: str = "received",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        study_date_from: date | str | None = None,
        study_date_to: date | str | None = None,
        batch: dict[str, list[str]] | None = None,
        mode: str = "rest",
        dry_run: bool | str = False,
        verify: bool | str = False,
        progress_interval: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_conn_id = source_conn_id
        self.destination_conn_id = destination_conn_id
        self.window = window
        self.since = since
        self.until = until
        self.study_date_from = study_date_from
        self.study_date_to = study_date_to
        self.batch = batch
        self.mode = mode
        self.dry_run = dry_run
        self.verify = verify
        self.progress_interval = progress_interval

    def execute(self, context: Context) -> dict[str, Any]:
        source = OrthancHook(self.source_conn_id)
        destination = OrthancHook(self.destination_conn_id)
        if self.batch is not None:
            candidates = Candidates.from_dict(self.batch)
            self.log.info(
                "batch of %d studies and %d instances from %s to %s",
                len(candidates.studies), len(candidates.instances), source.url, destination.url,
            )
        else:
            window = resolve_window(
                self.window,
                since=self.since,
                until=self.until,
                study_date_from=self.study_date_from,
                study_date_to=self.study_date_to,
                interval_start=context.get("data_interval_start"),
                interval_end=context.get("data_interval_end"),
            )
            self.log.info("window: %s, from %s to %s", window.describe(), source.url, destination.url)
            candidates = enumerate_candidates(source, window)
        summary = copy_candidates(
            source,
            destination,
            candidates,
            mode=self.mode,
            dry_run=_as_bool(self.dry_run),
            verify=_as_bool(self.verify),
            progress_interval=self.progress_interval,
            logger=self.log,
        )
        return self.finish(summary, context)

    def finish(self, summary: ReplicationSummary, context: Context) -> dict[str, Any]:
        """Log the one-line summary; fail the task (after publishing the summary) if anything failed."""
        self.log.info("summary: %s", summary.line())
        result = summary.as_dict()
        if summary.failed and not summary.dry_run:
            context["ti"].xcom_push(key="summary", value=result)
            raise AirflowException(summary.failure_text())
        return result
