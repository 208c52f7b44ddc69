"""What Splunk's replies, times and query strings look like: small pure helpers shared by HEC and search."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import quote_plus
from xml.etree import ElementTree

import requests
from urllib3.exceptions import NewConnectionError

from copydicom_provider.hooks.network import describe_connection_error
from copydicom_provider.hooks.splunk.errors import RETRYABLE_STATUS  # noqa: F401 - re-exported, worth a retry
from copydicom_provider.redaction import redact_text

#: HEC codes of Splunk's own "busy" refusals: definite answers, nothing from ``invalid-event-number`` on was taken.
BUSY_CODES = frozenset({9, 18})
HEALTHY_CODE = 17
NO_DATA_CODE = 5
#: health-check codes for a token Splunk does not know (21) or has disabled (22)
TOKEN_REFUSED_CODES = frozenset({21, 22})


class Log(Protocol):
    """What the clients log with: a :class:`logging.Logger`, or the hook's Airflow logger."""

    def debug(self, msg: Any, /, *args: Any) -> Any: ...
    def info(self, msg: Any, /, *args: Any) -> Any: ...
    def warning(self, msg: Any, /, *args: Any) -> Any: ...


def normalize_spl(query: str) -> str:
    """Splunk's REST API needs a leading command: prefix ``search `` unless it has one or starts with ``|``."""
    text = query.strip()
    if not text:
        raise ValueError("empty search query")
    if text.startswith("|") or re.match(r"search\b", text, re.IGNORECASE):
        return text
    return f"search {text}"


def epoch_seconds(value: float | int | str | datetime | date) -> float | int:
    """Epoch seconds with millisecond precision (HEC's ``time``); naive datetimes are taken as UTC."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a time")
    if isinstance(value, datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        number: float = stamp.timestamp()
    elif isinstance(value, date):
        number = datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp()
    elif isinstance(value, (int, float, Decimal)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return epoch_seconds(datetime.fromisoformat(value))
    else:
        raise TypeError(f"cannot read a time from {type(value).__name__}")
    if not math.isfinite(number):
        raise ValueError("time must be finite")
    rounded = round(number, 3)
    return int(rounded) if rounded == int(rounded) else rounded


def time_param(value: float | int | str | datetime) -> str:
    if isinstance(value, str):
        return value
    return f"{float(epoch_seconds(value)):.3f}"


_FORM_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_FORM_ESCAPES = str.maketrans({chr(c): "+" if c == 32 else f"%{c:02X}" for c in range(128) if chr(c) not in _FORM_SAFE})


def form_encoded(fields: Mapping[str, Any]) -> str:
    """``application/x-www-form-urlencoded`` exactly as ``urlencode`` (and so requests) writes it.

    Why: a duplicate check's search carries a thousand quoted keys (60 KB), which ``quote_plus``
    escapes a byte at a time in Python; ASCII text goes through one ``str.translate`` instead.
    """
    def escaped(value: Any) -> str:
        if isinstance(value, bytes):
            return quote_plus(value)
        text = str(value)
        return text.translate(_FORM_ESCAPES) if text.isascii() else quote_plus(text)

    pairs: list[str] = []
    for name, values in fields.items():  # as requests: a list is one pair per item, None is left out
        items = values if isinstance(values, (list, tuple)) else [values]
        pairs.extend(f"{escaped(name)}={escaped(value)}" for value in items if value is not None)
    return "&".join(pairs)


def spl_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def json_reply(response: requests.Response) -> dict[str, Any]:
    try:
        reply = response.json()
    except ValueError:
        return {}
    return reply if isinstance(reply, dict) else {}


def hec_success(reply: Mapping[str, Any]) -> bool:
    """Is this Splunk's own success body, ``{"text":"Success","code":0}`` (``ackId`` too with acks on)?

    Why this strict: a 200 is only proof of storage when Splunk wrote it. A proxy's login or error
    page also answers 200 (HTML, no JSON), and a proxy that mimics HEC loosely answers ``{"code":0}``;
    both stored nothing. Splunk always sends both keys, so anything else is an unknown outcome,
    settled through the index like a lost reply. (A perfect mimic is caught only by ``verify``.)
    """
    code = reply.get("code")
    return reply.get("text") == "Success" and isinstance(code, int) and not isinstance(code, bool) and code == 0


#: What Splunk's search messages say when results are partial: a peer down, unreachable or timed
#: out ("Unable to distribute to peer named idx2 ... because peer has status = "Down"", "Timed out
#: waiting for peer idx2 ... Search results might be incomplete!"), or results truncated.
_INCOMPLETE = re.compile(r"incomplete|truncat|partial|\bpeers?\b", re.IGNORECASE)


def incomplete_reason(message: Mapping[str, Any]) -> str | None:
    """The text of a search message (``{"type","text"}``) that marks the results partial, else None."""
    text = str(message.get("text") or "")
    if str(message.get("type") or "").upper() in {"WARN", "ERROR", "FATAL"} and _INCOMPLETE.search(text):
        return text
    return None


def hec_text(response: requests.Response, reply: Mapping[str, Any]) -> str:
    if reply.get("text"):
        return str(reply["text"])
    return (response.text or response.reason or "").strip()[:200] or f"HTTP {response.status_code}"


def code_part(code: Any) -> str:
    return f", code {code}" if code is not None else ""


def mgmt_text(response: requests.Response) -> str:
    """Splunk's messages, from ``{"messages":[{"type","text"}]}`` or ``<response><messages><msg>``."""
    body = response.content[:65536]
    try:
        messages = json.loads(body).get("messages") or []
        texts = [str(m.get("text")) for m in messages if m.get("text")]
    except (ValueError, AttributeError):
        try:
            texts = [m.text or "" for m in ElementTree.fromstring(body).iter("msg")]
        except ElementTree.ParseError:
            texts = [body.decode("utf-8", errors="replace").strip()[:200]]
    return "; ".join(t for t in texts if t) or response.reason or f"HTTP {response.status_code}"


def netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def first_line(exc: BaseException) -> str:
    """A connection failure in plain words (refused, untrusted certificate, TLS on a plain port, ...)."""
    return describe_connection_error(exc)


def redacted_url(url: str) -> str:
    """The URL without its credentials and without any query (which may hold tokens), however malformed.

    Parsing cannot be trusted here: a ``#`` or ``?`` in a password (``u:Se#cret@host``) moves
    where a URL parser thinks the host starts, and would echo part of the password.
    """
    base, query, _ = redact_text(url).partition("?")
    return base + ("?..." if query else "")


def maybe_received(exc: requests.RequestException) -> bool:
    """Could Splunk have received the request? Only a failed connect (or TLS handshake) proves it did not."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return False
    if isinstance(exc, requests.Timeout):
        return True  # read timeout: the body went out, the answer is late
    cause = exc.args[0] if exc.args else None
    cause = getattr(cause, "reason", cause)  # urllib3's MaxRetryError wraps the cause
    return not isinstance(cause, NewConnectionError)
