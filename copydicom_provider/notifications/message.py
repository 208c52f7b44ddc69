"""A failed run's notification: a subject and a body (plain text and HTML), from its record.

Why plain facts only: the reader must know which sync failed, what it had done and why, and
nothing else: the body names no server, no instance and no patient (``scrub.py`` removes any the
reason carried).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime

from copydicom_provider.notifications.run_record import RunRecord

#: A reason is one sentence: longer ones are cut (the task's log has the rest).
MAX_REASON = 400


@dataclass(frozen=True)
class Message:
    """What any notifier sends; templates reach it as ``{{ copydicom_message.subject }}``, ``.text``, ``.html``."""

    subject: str
    text: str
    html: str


def compose(record: RunRecord) -> Message:
    """The message for ``record``, whose reason is already scrubbed."""
    lines = [
        ("DAG", record.dag_id),
        ("Run", record.run_id),
        ("Logical date", _when(record.logical_date)),
        ("Data interval", f"{_when(record.interval_start)} to {_when(record.interval_end)}"),
        ("Counts", ", ".join(f"{name} {value}" for name, value in record.counts.items()) or "none published"),
        ("Failed task", record.failed_task or "unknown"),
        ("Reason", one_sentence(record.reason)),
    ]
    subject = f"copydicom: {record.dag_id} failed (run {record.run_id})"
    text = "\n".join(f"{label}: {value}" for label, value in lines) + "\n"
    rows = "".join(f"<tr><th align=left>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
                   for label, value in lines)
    return Message(subject, text, f"<p>{html.escape(subject)}</p><table>{rows}</table>")


def one_sentence(reason: str) -> str:
    """``reason`` on one line, cut at :data:`MAX_REASON` characters."""
    flat = " ".join(reason.split()) or "not given; see the failed task's log"
    return flat if len(flat) <= MAX_REASON else flat[: MAX_REASON - 1] + "…"


def _when(moment: datetime | None) -> str:
    return moment.isoformat() if moment else "none (a manual run)"
