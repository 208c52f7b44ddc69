"""The part every job operator shares: which candidates (a window or a mapped batch), and the summary."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, cast

from airflow.sdk import BaseOperator, Context

from copydicom_provider.conversions import as_bool
from copydicom_provider.copy.peer_jobs import cancel_active_peer_jobs
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.interrupts import raise_terminated
from copydicom_provider.jobs.candidates import WINDOW_FIELDS, Candidates, enumerate_candidates, resolve_window
from copydicom_provider.jobs.fail_fast import job_failure
from copydicom_provider.jobs.run_checks import check_run
from copydicom_provider.jobs.summary import JobSummary

#: Context key a job operator fills with its counts, and the ``map_index_template`` that shows them:
#: the Airflow grid then labels each mapped batch "copied 480, 20 present" instead of "0", "1", ...
LABEL_KEY = "copydicom_label"
MAP_INDEX_LABEL = "{{ copydicom_label | default('') }}"


class WindowedOperator(BaseOperator):
    """Base of the job operators: a source, a window of candidates or one ``batch`` of them.

    :param source_conn_id: ``orthanc`` connection of the archive the job reads.
    :param window: ``received`` (the run's data interval, or ``since``/``until``), ``study_date``
        (``study_date_from``/``study_date_to``, inclusive) or ``all``.
    :param batch: candidates prepared by an upstream enumeration (``{"studies": [...],
        "instances": [...]}``); when given, the window is not enumerated again. This is how the
        DAGs map a job over workers.
    :param dry_run: count what would be done; do nothing.
    :param verify: check afterwards that the target holds what the job sent (each job says how).
    """

    template_fields: Sequence[str] = ("source_conn_id", *WINDOW_FIELDS, "batch", "dry_run", "verify")

    def __init__(
        self,
        *,
        source_conn_id: str = "orthanc_source",
        window: str = "received",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        study_date_from: date | str | None = None,
        study_date_to: date | str | None = None,
        batch: dict[str, list[str]] | None = None,
        dry_run: bool | str = False,
        verify: bool | str = False,
        progress_interval: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source_conn_id = source_conn_id
        self.window = window
        self.since = since
        self.until = until
        self.study_date_from = study_date_from
        self.study_date_to = study_date_to
        self.batch = batch
        self.dry_run = dry_run  # type: ignore[method-assign,assignment]  # the argument shadows BaseOperator.dry_run()
        self.verify = verify
        self.progress_interval = progress_interval
        self._task_thread: threading.Thread | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Each job operator's ``execute`` notes the thread it runs in, for ``on_kill`` to interrupt."""
        super().__init_subclass__(**kwargs)
        if "execute" in cls.__dict__:
            cls.execute = _interruptible(cls.__dict__["execute"])  # type: ignore[method-assign]

    def on_kill(self) -> None:
        """SIGTERM (a pod or container stopped; Airflow calls this from its handler) is an interrupt.

        The push jobs are cancelled and the temporary peers (with credentials) removed at once; then,
        when called in the task's own thread, the run is interrupted there (:class:`Terminated`, a
        ``KeyboardInterrupt``) and ends through the clean-up Ctrl-C takes, instead of copying on
        until the SIGKILL that follows.
        """
        cancel_active_peer_jobs()
        if self._task_thread is threading.current_thread():  # only while execute runs, not in Airflow's own code
            raise_terminated()

    def candidates(self, source: OrthancHook, context: Context, target: str) -> Candidates:
        """The mapped batch, or the window enumerated on the source; logged with ``target``."""
        if self.batch is not None:
            candidates = Candidates.from_dict(self.batch)
            self.log.info(
                "batch of %d studies and %d instances from %s to %s",
                len(candidates.studies), len(candidates.instances), source.url, target,
            )
            return candidates
        check_run(self.run_params())  # a standalone task checks what a DAG's enumerate task would
        choice = {name: getattr(self, name) for name in WINDOW_FIELDS}
        window = resolve_window(choice, context.get("data_interval_start"), context.get("data_interval_end"))
        self.log.info("window: %s, from %s to %s", window.describe(), source.url, target)
        return enumerate_candidates(source, window)

    def run_params(self) -> dict[str, Any]:
        """The arguments :func:`check_run` checks, by the names of the DAGs' params; each job adds its own."""
        return {"source_conn_id": self.source_conn_id, **{name: getattr(self, name) for name in WINDOW_FIELDS}}

    def job_options(self) -> dict[str, Any]:
        """The arguments every job function takes from its operator: dry run, verify, progress, the task's log."""
        return {
            "dry_run": as_bool(self.dry_run),
            "verify": as_bool(self.verify),
            "progress_interval": self.progress_interval,
            "logger": cast(logging.Logger, self.log),  # Airflow's task logger answers as a logging.Logger does
        }

    def finish(self, summary: JobSummary, context: Context) -> dict[str, Any]:
        """Log the one-line summary and publish it (XCom ``summary``, also when the task then fails)."""
        self.log.info("summary: %s", summary.line())
        result = summary.as_dict()
        if context.get("ti") is not None:  # absent when a test or a script calls execute() directly
            context["ti"].xcom_push(key="summary", value=result)
        context[LABEL_KEY] = summary.label()  # type: ignore[literal-required]  # rendered by MAP_INDEX_LABEL
        failure = job_failure(summary)
        if failure is not None:
            raise failure
        return result


def _interruptible(execute: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(execute)
    def run(self: WindowedOperator, *args: Any, **kwargs: Any) -> Any:
        outer, self._task_thread = self._task_thread, threading.current_thread()
        try:
            return execute(self, *args, **kwargs)
        finally:
            self._task_thread = outer

    return run
