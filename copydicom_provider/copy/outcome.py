"""What happened to one instance sent through the worker, and how the summary counts it.

Why an object: the rest mode and the peer mode's diagnosis both send single instances, and must
count them alike; a named outcome replaces the strings with suffixes the counting used to parse.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from copydicom_provider.jobs.summary import Progress, ReplicationSummary

Kind = Literal["copied", "updated", "already", "vanished", "skipped", "withheld", "failed", "unanswered"]
#: Kinds that leave the destination holding the instance.
DONE: tuple[Kind, ...] = ("copied", "updated", "already")
#: Kinds the progress counts as not attempted.
SKIPPED: tuple[Kind, ...] = ("skipped", "vanished", "withheld")


@dataclass(frozen=True)
class Outcome:
    """One instance's fate: its kind, the bytes sent, the reason (withheld, failed), and whether its MD5
    was checked. ``unanswered`` (sent, the reply lost) is settled by asking the destination later."""

    kind: Kind = "skipped"
    size: int = 0
    reason: str = ""
    verified: bool = False

    def advance(self, progress: Progress) -> None:
        """Move the progress on by this instance."""
        progress.advance(
            1 if self.kind in DONE else 0, self.size,
            failed=self.kind in ("failed", "unanswered"), skipped=self.kind in SKIPPED,
        )


def count(summary: ReplicationSummary, instance_id: str, outcome: Outcome, logger: logging.Logger) -> None:
    """Add one settled outcome (not ``unanswered``) to the summary."""
    if outcome.verified:
        summary.verified += 1
    kind = outcome.kind
    if kind == "copied":
        summary.copied += 1
        summary.bytes += outcome.size
    elif kind == "updated":
        summary.updated += 1
        summary.verified += 1
        summary.bytes += outcome.size
        logger.info("updated %s: the source holds a corrected version (another MD5)", instance_id)
    elif kind == "already":
        summary.already_present += 1
        summary.bytes += outcome.size
    elif kind == "vanished":
        summary.vanished += 1
    elif kind == "skipped":
        summary.not_attempted += 1
    elif kind == "withheld":
        summary.record_withheld(outcome.reason)
    else:
        summary.record_failure(instance_id, outcome.reason)
