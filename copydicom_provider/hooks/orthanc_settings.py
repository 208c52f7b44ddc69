"""What an ``orthanc`` connection says, read once: its typed extras, a URL turned into a connection, the base URL.

Why a module of its own: the CLI and the library build hooks from URLs and the hook from Airflow
connections, and both must end at the same settings and base URL; none of this talks to a server.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow.sdk import Connection
from airflow.sdk.log import mask_secret

from copydicom_provider.conversions import as_bool, as_number
from copydicom_provider.redaction import redact_url

BOOL_WORDS = {"1", "0", "true", "false", "yes", "no", "on", "off"}
#: ``orthanc``, and plain HTTP connections that an older deployment may have made for Orthanc.
ACCEPTED_CONN_TYPES = {"orthanc", "http", "https"}


@dataclass(frozen=True)
class OrthancSettings:
    """The connection's extras, typed. URI-style connections deliver every extra as a string."""

    #: True, False, or the path of a CA bundle to check the server's certificate against
    verify: bool | str = True
    timeout: float = 60.0
    max_parallel: int = 4
    scheme: str = "http"

    @classmethod
    def from_extra(cls, extra: dict[str, Any]) -> OrthancSettings:
        # Forms of older Airflow versions store custom fields as ``extra__orthanc__<name>``.
        extra = {key.removeprefix("extra__orthanc__"): value for key, value in extra.items()}
        return cls(
            verify=verify_setting(extra.get("verify", extra.get("verify_ssl"))),
            timeout=as_number(extra.get("timeout"), 60.0),
            max_parallel=max(1, int(as_number(extra.get("max_parallel"), 4))),
            scheme=str(extra.get("scheme") or "http"),
        )


def verify_setting(value: Any) -> bool | str:
    """``verify``: a yes/no word, or a CA bundle path (used, never read as "no"); a missing file is an error."""
    if value is None or str(value).strip().lower() in ("", "none"):
        return True
    if isinstance(value, bool) or str(value).strip().lower() in BOOL_WORDS:
        return as_bool(value, True)
    path = os.path.expanduser(str(value).strip())
    if not os.path.isfile(path):
        raise ValueError(
            f"verify: the CA bundle {path!r} is not a readable file (give true, false or a CA bundle path)"
        )
    return path


def connection_from_url(url: str, conn_id: str, conn_type: str) -> Connection:
    """The connection ``http://user:password@host:8042?max_parallel=4`` describes; its password is masked.

    No Airflow metadata database is involved; the password is registered with Airflow's secrets
    masker so that it is redacted from any log line.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"Not an Orthanc URL (expected http[s]://host:port): {redact_url(url)}")
    extra: dict[str, Any] = {}  # the scheme travels in the host: a 4-letter extra upsets the secrets masker
    for item in filter(None, parts.query.split("&")):
        key, _, value = item.partition("=")
        extra[unquote(key)] = unquote(value)
    password = unquote(parts.password) if parts.password else None
    if password:
        mask_secret(password)
    return Connection(
        conn_id=conn_id,
        conn_type=conn_type,
        host=f"{parts.scheme}://{parts.hostname}",
        port=parts.port,
        login=unquote(parts.username) if parts.username else None,
        password=password,
        schema=parts.path.strip("/") or None,
        extra=json.dumps(extra),
    )


def base_url(connection: Connection, settings: OrthancSettings) -> str:
    """Base URL from host (may carry a scheme and a path prefix), port, schema and the ``scheme`` extra."""
    host = (connection.host or "localhost").rstrip("/")
    if "://" not in host:
        host = f"{settings.scheme}://{host}"
    parts = urlsplit(host)
    netloc = parts.netloc if not connection.port else f"{parts.hostname}:{connection.port}"
    prefix = parts.path.rstrip("/")
    if connection.schema and connection.schema not in {"http", "https"}:
        prefix = f"{prefix}/{connection.schema.strip('/')}"
    return f"{parts.scheme}://{netloc}{prefix}"
