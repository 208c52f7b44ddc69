"""Splunk's failures: their own hierarchy, never ``OrthancError``, so callers can tell the two servers apart.

Each is also of a kind (:mod:`copydicom_provider.errors`): ``SplunkError(...)``, ``SplunkHecError(...)``
and ``SplunkSearchError(...)`` build their ``...Unreachable`` subclass when Splunk is busy or down, and
their ``...Refused`` one when it answered with another status, so callers catch the kind.
"""

from __future__ import annotations

from typing import Any

from airflow.exceptions import AirflowException

from copydicom_provider.errors import CopydicomError, ServerUnreachable, kinds_of

#: Statuses that mean "busy or down, try later": request timeout, throttling, every server-side error.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class SplunkError(AirflowException, CopydicomError):
    """A Splunk request failed; the message names the side, the endpoint and Splunk's own text.

    ``unreachable`` says Splunk is busy or down (no answer, a 5xx, 429, an incomplete search) rather
    than refusing the request: callers (the CLI's exit codes) read it instead of the message text.
    It defaults from ``status``; a failure without any answer passes ``unreachable=True``.
    """

    def __new__(cls, message: str = "", *args: Any, **kwargs: Any) -> SplunkError:
        kinds = _KINDS.get(cls)
        if kinds is not None:  # the kind, from what Splunk did (a subclass named by the caller stays)
            status, unreachable = kwargs.get("status"), kwargs.get("unreachable")
            if status in RETRYABLE_STATUS if unreachable is None else unreachable:
                cls = kinds[0]
            elif status is not None:
                cls = kinds[1]
        return super().__new__(cls, message)

    def __init__(
        self, message: str, *, status: int | None = None, code: int | None = None, text: str | None = None,
        unreachable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.text = text
        self.unreachable = status in RETRYABLE_STATUS if unreachable is None else unreachable


class SplunkHecError(SplunkError):
    """HEC refused events or never accepted them; ``accepted`` events were indexed before it happened."""

    def __init__(self, message: str, *, accepted: int = 0, event_number: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.accepted = accepted
        self.event_number = event_number


class SplunkSearchError(SplunkError):
    """The management port refused a search or a call; carries Splunk's message text."""


class SplunkSearchIncomplete(SplunkSearchError, ServerUnreachable):
    """Splunk answered a search but marked its results partial (a search peer down, results truncated).

    Such an answer cannot say what the index does *not* hold, so a check that would resend on
    "not found" raises this instead of trusting it. Splunk is partly down: ``unreachable`` is true.
    """

    def __init__(self, message: str, *, text: str | None = None) -> None:
        super().__init__(message, text=text, unreachable=True)


SplunkUnreachable, SplunkRefused = kinds_of(SplunkError, "Splunk")
SplunkHecUnreachable, SplunkHecRefused = kinds_of(SplunkHecError, "SplunkHec")
SplunkSearchUnreachable, SplunkSearchRefused = kinds_of(SplunkSearchError, "SplunkSearch")

#: The kinds each constructor builds: (unreachable, refused).
_KINDS: dict[type[SplunkError], tuple[type[SplunkError], type[SplunkError]]] = {
    SplunkError: (SplunkUnreachable, SplunkRefused),
    SplunkHecError: (SplunkHecUnreachable, SplunkHecRefused),
    SplunkSearchError: (SplunkSearchUnreachable, SplunkSearchRefused),
}


class _Transient(Exception):
    """A failure worth retrying (connection error, 408/429/5xx); ``reason`` is safe to show."""

    def __init__(
        self, reason: str, status: int | None = None, code: int | None = None, text: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason, self.status, self.code, self.text = reason, status, code, text


class _TooLarge(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

