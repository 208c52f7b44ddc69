"""Splunk's failures: their own hierarchy, never ``OrthancError``, so callers can tell the two servers apart."""

from __future__ import annotations

from typing import Any

from airflow.exceptions import AirflowException


class SplunkError(AirflowException):
    """A Splunk request failed; the message names the side, the endpoint and Splunk's own text."""

    def __init__(
        self, message: str, *, status: int | None = None, code: int | None = None, text: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.text = text


class SplunkHecError(SplunkError):
    """HEC refused events or never accepted them; ``accepted`` events were indexed before it happened."""

    def __init__(self, message: str, *, accepted: int = 0, event_number: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.accepted = accepted
        self.event_number = event_number


class SplunkSearchError(SplunkError):
    """The management port refused a search or a call; carries Splunk's message text."""


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

