"""ReplicateTagsOperator: index what a Splunk index lacks of an Orthanc's tags, as one Airflow task."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from airflow.exceptions import AirflowException
from airflow.sdk import BaseOperator, Context

from copydicom_provider.core.tags import TagsSummary, index_candidates
from copydicom_provider.core.window import Candidates, enumerate_candidates, resolve_window
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.splunk import SplunkHook


def _as_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in {"1", "true", "yes", "on"}


def _optional(value: Any) -> str | None:
    """Templated overrides render ``None`` as ``"None"`` without native rendering."""
    return None if value in (None, "", "None") else str(value)


class ReplicateTagsOperator(BaseOperator):
    """Index every instance of a window (or of one ``batch``) that the Splunk index does not hold yet.

    Each instance gives a ``RecordType=instance`` record (its tags, full length, Orthanc IDs, source
    name, reception date); each X-ray/CT dose SR also one ``dose_report`` and one
    ``irradiation_event`` per acquisition, flat. See :mod:`copydicom_provider.core.tags`.

    :param source_conn_id: ``orthanc`` connection of the archive to index.
    :param splunk_conn_id: ``splunk`` connection (HEC token for sending, login or token for the
        non-duplicate searches).
    :param index: / :param sourcetype: override the connection's index and sourcetype (``_json``).
    :param window: ``received`` (the run's data interval, or ``since``/``until``), ``study_date``
        (``study_date_from``/``study_date_to``, inclusive) or ``all``.
    :param batch: candidates from an upstream enumeration (``{"studies": [...], "instances": [...]}``);
        when given, the window is not enumerated again (the DAG maps over batches this way).
    :param dry_run: count what would be sent; send nothing.

    Returns the summary (candidates, already_indexed, sent, dose_reports, irradiation_events,
    events_sent, failed, seconds) as XCom. When instances failed, the task fails naming up to ten
    of them after pushing the summary under the XCom key ``summary``; a retry sends only what the
    index still lacks.
    """

    template_fields: Sequence[str] = (
        "source_conn_id",
        "splunk_conn_id",
        "index",
        "sourcetype",
        "window",
        "since",
        "until",
        "study_date_from",
        "study_date_to",
        "batch",
        "dry_run",
    )
    ui_color = "#e5f2d7"

    def __init__(
        self,
        *,
        source_conn_id: str = "orthanc_source",
        splunk_conn_id: str = "splunk_default",
        index: str | None = None,
        sourcetype: str | None = None,
        window: str = "received",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        study_date_from: date | str | None = None,
        study_date_to: date | str | None = None,
        batch: dict[str, list[str]] | None = None,
        dry_run: bool | str = False,
        progress_interval: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_conn_id = source_conn_id
        self.splunk_conn_id = splunk_conn_id
        self.index = index
        self.sourcetype = sourcetype
        self.window = window
        self.since = since
        self.until = until
        self.study_date_from = study_date_from
        self.study_date_to = study_date_to
        self.batch = batch
        self.dry_run = dry_run
        self.progress_interval = progress_interval

    def execute(self, context: Context) -> dict[str, Any]:
        source = OrthancHook(self.source_conn_id)
        splunk = SplunkHook(self.splunk_conn_id)
        if self.batch is not None:
            candidates = Candidates.from_dict(self.batch)
            self.log.info("batch of %d studies and %d instances from %s",
                          len(candidates.studies), len(candidates.instances), source.url)
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
            self.log.info("window: %s, from %s", window.describe(), source.url)
            candidates = enumerate_candidates(source, window)
        with splunk:
            summary = index_candidates(
                source,
                splunk,
                candidates,
                index=_optional(self.index),
                sourcetype=_optional(self.sourcetype),
                dry_run=_as_bool(self.dry_run),
                progress_interval=self.progress_interval,
                logger=self.log,
            )
        return self.finish(summary, context)

    def finish(self, summary: TagsSummary, context: Context) -> dict[str, Any]:
        """Log the one-line summary; fail the task (after publishing the summary) if anything failed."""
        self.log.info("summary: %s", summary.line())
        result = summary.as_dict()
        if summary.failed and not summary.dry_run:
            context["ti"].xcom_push(key="summary", value=result)
            raise AirflowException(summary.failure_text())
        return result
