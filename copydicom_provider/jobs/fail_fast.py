"""Mistakes that a retry cannot fix fail a task at once, in one line that says what to do.

A bad window, an unknown connection, a connection of the wrong type, refused credentials or a
rejected query would fail the same way on every retry; retrying them only delays the message by
minutes of back-off. :func:`fail_fast` turns them into ``AirflowFailException`` (no retry), and
leaves every other error (a server away, a timeout) to Airflow's retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airflow.exceptions import AirflowNotFoundException

from copydicom_provider.compat import AirflowFailException
from copydicom_provider.hooks.errors import ConfigurationError, OrthancError
from copydicom_provider.hooks.splunk.errors import SplunkError

#: HTTP statuses a retry cannot change: credentials refused, request forbidden.
PERMANENT_STATUS = {401, 403}


def permanent_reason(error: BaseException) -> str | None:
    """The one-line reason when ``error`` is a mistake no retry can fix, else None."""
    if isinstance(error, AirflowNotFoundException):
        conn_id = str(error).split("`")[1] if "`" in str(error) else str(error)
        return (f"connection {conn_id!r} is not defined: create it (Admin > Connections, or the environment "
                f"variable AIRFLOW_CONN_{conn_id.upper()}) or pick another in the run's parameters")
    if isinstance(error, (OrthancError, SplunkError)) and error.status in PERMANENT_STATUS:
        return str(error)  # Splunk's are their own errors (not OrthancError): a refused HEC token fails at once too
    if isinstance(error, (ValueError, TypeError)) and not isinstance(error, UnicodeError):
        text = str(error)
        return text if isinstance(error, ConfigurationError) else f"invalid parameters: {text}"
    return None


@contextmanager
def fail_fast() -> Iterator[None]:
    """Re-raise permanent mistakes as ``AirflowFailException`` (the task fails now, without retries)."""
    try:
        yield
    except AirflowFailException:
        raise
    except Exception as error:
        reason = permanent_reason(error)
        if reason is None:
            raise
        raise AirflowFailException(reason) from None
