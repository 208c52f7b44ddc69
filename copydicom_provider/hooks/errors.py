"""Errors raised by the Orthanc hook, carrying the server's own reason and never a credential.

``OrthancError(...)`` builds the subclass of its kind (:mod:`copydicom_provider.errors`): no answer
is an :class:`OrthancUnreachable`, an answer with a status an :class:`OrthancRefused`, a full storage
an :class:`OrthancStorageFull`; so callers catch the kind. The flag attributes stay for callers not
yet moved over.
"""

from __future__ import annotations

import json

import requests
from airflow.exceptions import AirflowException

from copydicom_provider.errors import ConfigurationError, CopydicomError, StorageFull, kinds_of

__all__ = ["STORAGE_FULL_CODES", "ConfigurationError", "OrthancError", "OrthancRefused", "OrthancStorageFull",
           "OrthancUnreachable"]

_REASONS = {
    401: "refused the credentials (HTTP 401): check the connection's login and password",
    403: "forbids this request (HTTP 403)",
    404: "has no such resource (HTTP 404)",
}

#: Orthanc's own error codes (``OrthancStatus`` in its error body) for "this server cannot store
#: more": 14 CannotWriteFile (disk full, storage not writable), 19 FullStorage (MaximumStorageSize
#: or MaximumPatientCount reached with nothing left to recycle). No retry helps until someone acts.
STORAGE_FULL_CODES = {14, 19}


class OrthancError(AirflowException, CopydicomError):
    """An Orthanc request failed; the message names the server, the request and Orthanc's reason."""

    def __new__(
        cls,
        message: str = "",
        status: int | None = None,
        unreachable: bool = False,
        server: str | None = None,
        orthanc_status: int | None = None,
    ) -> OrthancError:
        if cls is OrthancError:  # the kind, from what the server did (a subclass named by the caller stays)
            if unreachable:
                cls = OrthancUnreachable
            elif orthanc_status in STORAGE_FULL_CODES:
                cls = OrthancStorageFull
            elif status is not None:
                cls = OrthancRefused
        return super().__new__(cls, message)

    def __init__(
        self,
        message: str,
        status: int | None = None,
        unreachable: bool = False,
        server: str | None = None,
        orthanc_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        #: Orthanc's own error code (``OrthancStatus``), when its reply carried one
        self.orthanc_status = orthanc_status
        #: no answer at all (refused, reset, timed out): the server itself is away, not this request
        self.unreachable = unreachable
        #: base URL of the server that failed, so a caller can tell the source from the destination
        self.server = server

    @property
    def storage_full(self) -> bool:
        """The server cannot store more (full disk or storage quota): every further upload fails alike."""
        return self.orthanc_status in STORAGE_FULL_CODES

    @classmethod
    def from_response(
        cls, base_url: str, method: str, endpoint: str, response: requests.Response, name: str = "Orthanc"
    ) -> OrthancError:
        return cls.from_reply(base_url, method, endpoint, response.status_code, response.content, name)

    @classmethod
    def from_reply(
        cls, base_url: str, method: str, endpoint: str, status: int, body: bytes, name: str = "Orthanc"
    ) -> OrthancError:
        """The error for an answer other than the one expected: Orthanc's own reason, in one line."""
        reason = _REASONS.get(status) or f"answered HTTP {status}"
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        detail = _orthanc_detail(parsed, body)
        message = f"{name} at {base_url} {reason} for {method} {endpoint.split('?')[0]}"
        if detail:
            message += f": {detail}"
        code = parsed.get("OrthancStatus") if isinstance(parsed, dict) else None
        return cls(message, status=status, server=base_url, orthanc_status=code if isinstance(code, int) else None)


OrthancUnreachable, OrthancRefused = kinds_of(OrthancError, "Orthanc")


class OrthancStorageFull(OrthancRefused, StorageFull):  # type: ignore[valid-type,misc]  # made by kinds_of
    """Orthanc cannot store more (``OrthancStatus`` 14 or 19)."""


def _orthanc_detail(parsed: object, body: bytes) -> str:
    """Orthanc's JSON error body holds Message and Details; anything else is quoted briefly."""
    if parsed is None:
        return body.decode("utf-8", "replace").strip()[:200]
    if isinstance(parsed, dict):
        parts = [str(parsed[k]) for k in ("Message", "Details") if parsed.get(k)]
        return " - ".join(parts)
    return str(parsed)[:200]
