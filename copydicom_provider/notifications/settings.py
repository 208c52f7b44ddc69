"""Who is told when a run fails, read from one Airflow Variable: configured once, for every DAG.

Why a Variable: it is set in the UI, the CLI (``airflow variables set``), an ``AIRFLOW_VAR_*``
environment variable or a secrets backend, and read when a run fails, so a change needs no redeploy.
No Variable means no notification, silently: a deployment that wants none has nothing to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from copydicom_provider.errors import ConfigurationError

#: The Airflow Variable, JSON: ``{"notifier": "smtp", "conn_id": "smtp_default", "to": ["pacs-admin@example.org"]}``
#: or ``{"notifier": "package.module.SomeNotifier", "kwargs": {...}}``.
VARIABLE = "copydicom_notify"
#: The notifier named by a word rather than a class path.
SMTP = "smtp"
#: What an SMTP setting may carry besides ``notifier`` (``conn_id`` is the SMTP connection's id).
SMTP_KEYS = frozenset({"conn_id", "to", "from_email", "cc", "bcc"})


@dataclass(frozen=True)
class NotifySettings:
    """A notifier (``smtp`` or a dotted class path of a ``BaseNotifier``) and the arguments it is built with."""

    notifier: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: the Variable they were read from, for messages about them
    variable: str = VARIABLE


def parse(raw: str | dict[str, Any] | None, variable: str = VARIABLE) -> NotifySettings | None:
    """The settings in the Variable's value; None when it is absent or empty. A malformed value is the
    user's mistake: ConfigurationError names what to fix."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"Variable {variable} is not JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(data, dict) or not isinstance(data.get("notifier"), str) or not data["notifier"].strip():
        raise ConfigurationError(f'Variable {variable} needs an object with "notifier": "smtp" or a notifier\'s '
                                 "dotted class path")
    notifier = data["notifier"].strip()
    if notifier == SMTP:
        return _smtp(data, variable)
    if "." not in notifier:
        raise ConfigurationError(f'Variable {variable}: notifier {notifier!r} is neither "smtp" nor a dotted '
                                 "class path")
    kwargs = data.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise ConfigurationError(f'Variable {variable}: "kwargs" must be an object of the notifier\'s arguments')
    return NotifySettings(notifier, dict(kwargs), variable)


def _smtp(data: dict[str, Any], variable: str) -> NotifySettings:
    """SMTP's settings: recipients are required, every other key must be one SmtpNotifier takes."""
    unknown = sorted(set(data) - SMTP_KEYS - {"notifier"})
    if unknown:
        raise ConfigurationError(f"Variable {variable}: unknown key(s) {', '.join(unknown)} for smtp; "
                                 f"known: {', '.join(sorted(SMTP_KEYS))}")
    to = data.get("to")
    if isinstance(to, str):
        to = [to]
    if not to or not isinstance(to, list) or not all(isinstance(address, str) and address for address in to):
        raise ConfigurationError(f'Variable {variable}: smtp needs "to": a list of addresses')
    kwargs: dict[str, Any] = {"to": to}
    if data.get("conn_id"):
        kwargs["smtp_conn_id"] = data["conn_id"]
    kwargs |= {key: data[key] for key in ("from_email", "cc", "bcc") if data.get(key)}
    return NotifySettings(SMTP, kwargs, variable)


def read(variable: str = VARIABLE) -> NotifySettings | None:
    """The deployment's settings in ``variable``, None when it is not set."""
    from airflow.sdk import Variable

    return parse(Variable.get(variable, default=None), variable)
