"""Errors raised by the hooks, carrying the server's own reason and never a credential."""

from __future__ import annotations

import requests
from airflow.exceptions import AirflowException

_REASONS = {
    401: "refused the credentials (HTTP 401): check the connection's login and password",
    403: "forbids this request (HTTP 403)",
    404: "has no such resource (HTTP 404)",
}


class ConfigurationError(ValueError):
    """A connection or parameter is wrong; the message says which and how to fix it."""


class OrthancError(AirflowException):
    """An Orthanc request failed; the message names the server, the request and Orthanc's reason."""

    def __init__(
        self, message: str, status: int | None = None, unreachable: bool = False, server: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        #: no answer at all (refused, reset, timed out): the server itself is away, not this request
        self.unreachable = unreachable
        #: base URL of the server that failed, so a caller can tell the source from the destination
        self.server = server

    @classmethod
    def from_response(
        cls, base_url: str, method: str, endpoint: str, response: requests.Response, name: str = "Orthanc"
    ) -> OrthancError:
        status = response.status_code
        reason = _REASONS.get(status) or f"answered HTTP {status}"
        detail = _orthanc_detail(response)
        message = f"{name} at {base_url} {reason} for {method} {endpoint.split('?')[0]}"
        if detail:
            message += f": {detail}"
        return cls(message, status=status, server=base_url)


def _orthanc_detail(response: requests.Response) -> str:
    """Orthanc's JSON error body holds Message and Details; anything else is quoted briefly."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("Message", "Details") if body.get(k)]
        return " - ".join(parts)
    return str(body)[:200]
