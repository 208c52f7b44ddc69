"""ReplicateOperator: copy what a destination Orthanc lacks, as one Airflow task."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import Context

from copydicom_provider.copy.push_job import DEFAULT_PEER_JOB_TIMEOUT
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.fail_fast import fail_fast
from copydicom_provider.jobs.replicate import copy_candidates
from copydicom_provider.operators.links import EXPLORER_XCOM_KEY, OrthancExplorerLink, copied_url
from copydicom_provider.operators.windowed import WindowedOperator


class ReplicateOperator(WindowedOperator):
    """Copy every instance of a window (or of one ``batch``) that the destination lacks.

    Window, batch, source and dry run as in :class:`WindowedOperator`.

    :param destination_conn_id: ``orthanc`` connection of the archive to copy to.
    :param mode: ``rest`` (the worker streams files) or ``peer`` (the source pushes).
    :param dry_run: plan only: count what would be copied.
    :param verify: compare the MD5 Orthanc recorded on both sides after each copy, and of every
        instance of candidate studies (corrections of loose instances are always found).
    :param peer_job_timeout: seconds one push job of ``mode=peer`` may run before it is cancelled.

    Returns the summary (candidates, already present, copied, failed, bytes, seconds,
    instances/s) as XCom. When instances failed, the task fails naming up to ten of them with the
    server's reason, after pushing the summary under the XCom key ``summary``; a retry copies only
    what is still missing.
    """

    template_fields: Sequence[str] = (*WindowedOperator.template_fields, "destination_conn_id", "mode")
    ui_color = "#d7ecf7"
    operator_extra_links = (OrthancExplorerLink(),)

    def __init__(
        self,
        *,
        destination_conn_id: str = "orthanc_destination",
        mode: str = "rest",
        peer_job_timeout: float = DEFAULT_PEER_JOB_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.destination_conn_id = destination_conn_id
        self.mode = mode
        self.peer_job_timeout = peer_job_timeout

    def run_params(self) -> dict[str, Any]:
        return super().run_params() | {"destination_conn_id": self.destination_conn_id, "mode": self.mode}

    def execute(self, context: Context) -> dict[str, Any]:
        with fail_fast(ti=context.get("ti")):  # a mistake no retry can fix fails now, in one line
            source = OrthancHook(self.source_conn_id)
            destination = OrthancHook(self.destination_conn_id)
            candidates = self.candidates(source, context, destination.url)
            if context.get("ti") is not None:  # absent when a script calls execute() directly
                context["ti"].xcom_push(key=EXPLORER_XCOM_KEY, value=copied_url(destination, source, candidates))
            summary = copy_candidates(
                source,
                destination,
                candidates,
                mode=self.mode,
                peer_job_timeout=float(self.peer_job_timeout),
                **self.job_options(),
            )
            return self.finish(summary, context)
