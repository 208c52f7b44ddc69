"""A run's parameters checked before any work, each mistake refused in one sentence.

Why here, first thing in a run: a trigger form can check a field's format, not how fields relate
(``since`` after ``until``), nor whether a connection exists; found later, deep in the job, the
same mistake surfaced as a traceback minutes into the run. :func:`check_run` raises a
:class:`~copydicom_provider.errors.ConfigurationError` whose message is the sentence the task's
log, its XCom ``mistake`` and the run's ``summarize`` then show (:func:`~.fail_fast.mistake`).
Connections are looked up as the task's hooks would (environment, secrets backends, the metadata
database through the task's API), so what is checked is what the job would use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from airflow.exceptions import AirflowNotFoundException
from airflow.sdk import Connection
from airflow.sdk.log import mask_secret

from copydicom_provider.conversions import as_bool, optional
from copydicom_provider.errors import ConfigurationError
from copydicom_provider.hooks.forms import LEGACY_PSEUDONYM_FIELD, PSEUDONYM_FIELD
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.splunk import SplunkHook
from copydicom_provider.jobs.candidates import WINDOW_KINDS, parse_day, parse_moment
from copydicom_provider.jobs.fail_fast import permanent_reason

#: The window fields each window kind does not read: a value there is a mistake, not a no-op.
IGNORED_BY = {
    "received": ("study_date_from", "study_date_to"),
    "study_date": ("since", "until"),
    "all": ("since", "until", "study_date_from", "study_date_to"),
}
#: Connection types a Splunk connection may have (the provider's own, or a plain HTTP one).
SPLUNK_CONN_TYPES = {"splunk", "http", "https"}
_SPLUNK_RELATIVE = re.compile(r"^([+-])(\d+)(s|m|h|d|w|mon|y)$")
_SPLUNK_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "mon": 30 * 86400, "y": 365 * 86400}


def check_run(params: Mapping[str, Any]) -> None:
    """Refuse the run's parameters (a DAG's params, an operator's arguments) with one sentence, or pass.

    Only the fields present are checked: the window (order, formats, fields the kind ignores),
    Splunk's ``earliest``/``latest``, the connections, and de-identification's mode and key.
    """
    check_window(params)
    check_splunk_times(params.get("earliest"), params.get("latest"))
    connections = check_connections(params)
    if as_bool(params.get("anonymize"), False):
        check_anonymize(params, connections.get("destination_conn_id"))


def check_window(params: Mapping[str, Any]) -> None:
    """The window's kind, the formats of its bounds, their order, and no field the kind ignores."""
    if "window" not in params:
        return
    kind = optional(params.get("window")) or "received"
    if kind not in WINDOW_KINDS:
        raise ConfigurationError(f"window {kind!r} is not a window kind: choose one of {', '.join(WINDOW_KINDS)}")
    since, until = (_moment(params, name) for name in ("since", "until"))
    first, last = (_day(params, name) for name in ("study_date_from", "study_date_to"))
    ignored = [name for name in IGNORED_BY[kind] if optional(params.get(name)) is not None]
    if ignored:
        raise ConfigurationError(
            f"window {kind!r} does not use {' and '.join(ignored)}: clear {'it' if len(ignored) == 1 else 'them'}, "
            "or choose the window that reads them (received: since/until, study_date: the study dates)"
        )
    if kind == "study_date" and first is None and last is None:
        raise ConfigurationError("window 'study_date' needs a first study date, a last study date, or both")
    if since and until and since >= until:
        raise ConfigurationError(
            f"since ({since.isoformat()}) is not before until ({until.isoformat()}), so the window is empty: "
            "swap them, or clear until to copy up to now"
        )
    if first and last and first > last:
        raise ConfigurationError(
            f"the first study date ({first}) is after the last ({last}), so the window is empty: swap them"
        )


def _moment(params: Mapping[str, Any], name: str) -> datetime | None:
    try:
        return parse_moment(optional(params.get(name)))
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"{name} ({params.get(name)!r}) is not an ISO 8601 date and time: write it like 2026-11-29T10:00:00Z"
        ) from None


def _day(params: Mapping[str, Any], name: str) -> date | None:
    try:
        return parse_day(optional(params.get(name)))
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name} ({params.get(name)!r}) is not a date: write it like 2024-03-01") from None


def splunk_moment(value: Any, now: datetime) -> datetime | None:
    """A Splunk time bound as a moment when it is plain enough to compare (ISO 8601, epoch, ``-30d``, ``now``).

    Anything else (snapping such as ``-1d@d``) gives None and is left to Splunk to read.
    """
    text = str(optional(value) or "").strip()
    if not text:
        return None
    if text == "now":
        return now
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return datetime.fromtimestamp(float(text), timezone.utc)
    relative = _SPLUNK_RELATIVE.fullmatch(text)
    if relative:
        sign, count, unit = relative.groups()
        offset = timedelta(seconds=int(count) * _SPLUNK_UNITS[unit])
        return now + offset if sign == "+" else now - offset
    try:
        return parse_moment(text)
    except ValueError:
        return None


def check_splunk_times(earliest: Any, latest: Any) -> None:
    """``earliest`` before ``latest`` (Splunk's ``_time`` bounds), when both can be read here."""
    now = datetime.now(timezone.utc)
    first, last = splunk_moment(earliest, now), splunk_moment(latest, now)
    if first is not None and last is not None and first >= last:
        raise ConfigurationError(
            f"earliest ({earliest}) is not before latest ({latest}), so the search covers nothing: swap them"
        )


def check_connections(params: Mapping[str, Any]) -> dict[str, Connection]:
    """Look up every connection the run names, as its hooks will; one sentence for an unknown or wrong one."""
    found: dict[str, Connection] = {}
    hooks: dict[str, OrthancHook] = {}
    for field in ("source_conn_id", "destination_conn_id"):
        conn_id = optional(params.get(field))
        if conn_id is not None:
            hooks[field] = OrthancHook(str(conn_id))  # refuses a connection of another type
            found[field] = _looked_up(hooks[field], str(conn_id))
    conn_id = optional(params.get("splunk_conn_id"))
    if conn_id is not None:
        found["splunk_conn_id"] = connection = _looked_up(SplunkHook(str(conn_id)), str(conn_id))
        if connection.conn_type not in SPLUNK_CONN_TYPES:
            raise ConfigurationError(f"connection {conn_id!r} is of type {connection.conn_type!r}, not 'splunk': "
                                     "pick a Splunk connection, or change its type")
    if len(hooks) == 2:
        check_distinct(hooks["source_conn_id"], hooks["destination_conn_id"])
    return found


def check_distinct(source: OrthancHook, destination: OrthancHook) -> None:
    """A copy onto its own source, by the same connection or two naming one server, is a mistake."""
    if source.orthanc_conn_id == destination.orthanc_conn_id or source.url == destination.url:
        raise ConfigurationError(
            f"the source ({source.orthanc_conn_id!r}) and the destination ({destination.orthanc_conn_id!r}) are the "
            f"same Orthanc ({source.url}), so there is nothing to copy: pick another destination"
        )


def _looked_up(hook: OrthancHook | SplunkHook, conn_id: str) -> Connection:
    try:
        return hook.get_connection(conn_id)
    except AirflowNotFoundException as error:
        raise ConfigurationError(permanent_reason(error) or str(error)) from None


def check_anonymize(params: Mapping[str, Any], destination: Connection | None) -> None:
    """De-identification runs in the worker (rest mode) and needs the destination's pseudonym key."""
    mode = optional(params.get("mode")) or "rest"
    if mode != "rest":
        raise ConfigurationError(
            f"De-identify needs mode 'rest' (the worker de-identifies each instance), not {mode!r}: "
            "choose rest, or turn De-identify off"
        )
    if destination is not None:
        pseudonym_key(destination_extra(destination), str(params["destination_conn_id"]))


def destination_extra(connection: Connection) -> dict[str, Any]:
    """The connection's extras by their plain names (older Airflow forms store ``extra__orthanc__<name>``)."""
    return {name.removeprefix("extra__orthanc__"): value for name, value in connection.extra_dejson.items()}


def pseudonym_key(extra: Mapping[str, Any], conn_id: str) -> str:
    """The destination's pseudonym key (masked in logs from now on); one sentence when it is missing or misnamed."""
    if extra.get(LEGACY_PSEUDONYM_FIELD):
        mask_secret(str(extra[LEGACY_PSEUDONYM_FIELD]))
        raise ConfigurationError(
            f"The destination connection {conn_id!r} keeps its pseudonym key in the extra "
            f"{LEGACY_PSEUDONYM_FIELD!r}, which Airflow shows in clear in its UI and API: rename it to "
            f"{PSEUDONYM_FIELD!r} (same value, so the pseudonyms stay the same)"
        )
    key = extra.get(PSEUDONYM_FIELD)
    if not key:
        raise ConfigurationError(
            f"De-identification needs a pseudonym key: set the extra {PSEUDONYM_FIELD!r} (the form's "
            f"'Pseudonym key') of the destination connection {conn_id!r}"
        )
    mask_secret(str(key))
    return str(key)
