"""ReplicateTagsOperator: index what a Splunk index lacks of an Orthanc's tags, as one Airflow task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context

from copydicom_provider.conversions import optional
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.splunk import SplunkHook
from copydicom_provider.jobs.fail_fast import fail_fast
from copydicom_provider.jobs.replicate_tags import index_candidates
from copydicom_provider.operators.windowed import WindowedOperator


class ReplicateTagsOperator(WindowedOperator):
    """Index every instance of a window (or of one ``batch``) that the Splunk index does not hold yet.

    Each instance gives a ``RecordType=instance`` record (its tags, full length, Orthanc IDs, source
    name, reception date); each X-ray/CT dose SR also one ``dose_report`` and one
    ``irradiation_event`` per acquisition, flat. See :mod:`copydicom_provider.jobs.replicate_tags`.

    Window, batch, source and dry run as in :class:`WindowedOperator`.

    :param splunk_conn_id: ``splunk`` connection (HEC token for sending, login or token for the
        non-duplicate searches).
    :param index: / :param sourcetype: override the connection's index and sourcetype (``_json``).
    :param verify: after sending, ask the index for every record sent (within the connection's
        ``settle_delay``), send what it lacks once more and fail the instances it still lacks:
        catches something answering success for HEC without storing. Costs one search per 1000
        records and the index's lag; see :mod:`copydicom_provider.jobs.replicate_tags_verify`.

    Returns the summary (candidates, already_indexed, sent, dose_reports, irradiation_events,
    events_sent, failed, seconds) as XCom. When instances failed, the task fails naming up to ten
    of them after pushing the summary under the XCom key ``summary``; a retry sends only what the
    index still lacks.
    """

    template_fields: Sequence[str] = (
        *WindowedOperator.template_fields, "splunk_conn_id", "index", "sourcetype",
    )
    ui_color = "#e5f2d7"

    def __init__(
        self,
        *,
        splunk_conn_id: str = "splunk_default",
        index: str | None = None,
        sourcetype: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.splunk_conn_id = splunk_conn_id
        self.index = index
        self.sourcetype = sourcetype

    def run_params(self) -> dict[str, Any]:
        return super().run_params() | {"splunk_conn_id": self.splunk_conn_id}

    def execute(self, context: Context) -> dict[str, Any]:
        with fail_fast(ti=context.get("ti")):  # a mistake no retry can fix fails now, in one line
            source = OrthancHook(self.source_conn_id)
            splunk = SplunkHook(self.splunk_conn_id)
            candidates = self.candidates(source, context, "Splunk")
            with splunk:
                summary = index_candidates(
                    source,
                    splunk,
                    candidates,
                    index=optional(self.index),
                    sourcetype=optional(self.sourcetype),
                    **self.job_options(),
                )
            return self.finish(summary, context)
