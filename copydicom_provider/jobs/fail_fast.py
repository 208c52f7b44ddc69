"""Should this task fail, and how? Decided here alone, from the error's kind or the job's summary.

A bad window, an unknown connection, a connection of the wrong type, refused credentials or a
rejected query would fail the same way on every retry; retrying them only delays the message by
minutes of back-off. :func:`fail_fast` turns them into ``AirflowFailException`` (no retry), and
leaves every other error (a server away, a timeout) to Airflow's retries. A job that left work
undone fails its task (:func:`job_failure`): with retries, unless someone must act first (a full
destination), and a DAG run whose batches did not all finish fails at once (:func:`batches_failure`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from airflow.exceptions import AirflowException, AirflowNotFoundException

from copydicom_provider.compat import AirflowFailException
from copydicom_provider.errors import ConfigurationError, ServerRefused, ServerUnreachable
from copydicom_provider.hooks.splunk.errors import SplunkSearchError
from copydicom_provider.jobs.summary import JobSummary

#: HTTP statuses a retry cannot change: credentials refused, request forbidden.
PERMANENT_STATUS = {401, 403}
#: XCom key under which a task that failed on a mistake leaves the one-sentence reason.
MISTAKE_XCOM_KEY = "mistake"

#: The task's own logger: its lines show in the Airflow UI's log view.
task_log = logging.getLogger("airflow.task")


def mistake(reason: str, ti: Any | None) -> NoReturn:
    """Fail the task on a mistake: one ERROR line saying it, the sentence in XCom, and no retry.

    ``ti`` is the task instance (None outside a task: a script calling ``execute``). Airflow still
    logs the exception it is given, after this line; the line comes first and holds the whole reason.
    """
    task_log.error("%s", reason)
    if ti is not None:
        ti.xcom_push(key=MISTAKE_XCOM_KEY, value=reason)
    raise AirflowFailException(reason) from None


def permanent_reason(error: BaseException) -> str | None:
    """The one-line reason when ``error`` is a mistake no retry can fix, else None."""
    if isinstance(error, AirflowNotFoundException):
        conn_id = str(error).split("`")[1] if "`" in str(error) else str(error)
        return (f"connection {conn_id!r} is not defined: create it (Admin > Connections, or the environment "
                f"variable AIRFLOW_CONN_{conn_id.upper()}) or pick another in the run's parameters")
    if isinstance(error, ServerRefused) and error.status in PERMANENT_STATUS:
        return str(error)  # Orthanc's and Splunk's alike: a refused HEC token fails at once too
    if isinstance(error, ConfigurationError):
        return str(error)
    if isinstance(error, ValueError) and not isinstance(error, UnicodeError):
        return f"invalid parameters: {error}"  # input checks raise ValueError: the user's mistake too
    return None


def rejected_search_reason(error: BaseException) -> str | None:
    """A search Splunk rejected, or a setting refused, in its own words; None for Splunk busy or partly down.

    Why: conditional-replicate runs the user's query; Splunk's rejection of it is the user's to fix,
    while a search peer down may well be back for the retry.
    """
    if isinstance(error, ServerUnreachable):
        return None
    return str(error) if isinstance(error, SplunkSearchError) else refused_input_reason(error)


def refused_input_reason(error: BaseException) -> str | None:
    """Input the job refused (``ValueError``), in its own words: a task that checks its input first uses it."""
    return str(error) if isinstance(error, ValueError) else None


@contextmanager
def fail_fast(reason_of: Callable[[BaseException], str | None] = permanent_reason, ti: Any | None = None,
              ) -> Iterator[None]:
    """Fail the task on permanent mistakes (by ``reason_of``) through :func:`mistake`: now, in one line, no retries.

    ``ti``: the task instance, whose XCom ``mistake`` then holds the reason.
    """
    try:
        yield
    except AirflowFailException:
        raise
    except Exception as error:
        reason = reason_of(error)
        if reason is None:
            raise
        mistake(reason, ti)


def job_failure(summary: JobSummary) -> AirflowException | None:
    """The error a job's task ends with, None when it did all its work (or only counted it)."""
    if not summary.incomplete or summary.dry_run:
        return None
    if summary.needs_operator_first():  # a full destination: a retry would only fail again
        return AirflowFailException(summary.failure_text())
    return AirflowException(summary.failure_text())


def batches_failure(failed: int, batches: int, total: JobSummary) -> AirflowFailException | None:
    """The error of a DAG run whose ``failed`` of ``batches`` mapped batches did not finish, else None.

    A retry of the summary would not finish them: the run fails now, and says whether someone must act.
    """
    if not failed:
        return None
    if total.needs_operator_first():
        return AirflowFailException(f"{failed} of {batches} batch(es) did not finish: {total.failure_text()}")
    return AirflowFailException(
        f"{failed} of {batches} batch(es) did not finish ({total.failure_text() or 'task failed'}); "
        "what was done stays done, and a rerun (or the next scheduled run) does the rest"
    )
