"""How one instance's outcome is counted, in the summary and in the progress."""

from __future__ import annotations

import logging

import pytest

from copydicom_provider.copy.outcome import Outcome, count
from copydicom_provider.jobs.summary import ReplicationSummary

log = logging.getLogger("test")


class Ticks:
    """Records what a progress was advanced by."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int, int]] = []

    def advance(self, count: int = 1, size: int = 0, *, failed: int = 0, skipped: int = 0) -> None:
        self.calls.append((count, size, int(failed), int(skipped)))


@pytest.mark.parametrize(("outcome", "counts"), [
    (Outcome("copied", 10), {"copied": 1, "bytes": 10}),
    (Outcome("copied", 10, verified=True), {"copied": 1, "bytes": 10, "verified": 1}),
    (Outcome("already", 7), {"already_present": 1, "bytes": 7}),
    (Outcome("updated", 5), {"updated": 1, "verified": 1, "bytes": 5}),
    (Outcome("vanished"), {"vanished": 1}),
    (Outcome("skipped"), {"not_attempted": 1}),
    (Outcome("failed", 3, "refused"), {"failed": 1}),
])
def test_each_kind_goes_to_its_count(outcome, counts):
    summary = ReplicationSummary()
    count(summary, "i1", outcome, log)
    for name in ("copied", "bytes", "verified", "already_present", "updated", "vanished", "not_attempted", "failed"):
        assert getattr(summary, name) == counts.get(name, 0), name
    if outcome.kind == "failed":
        assert summary.failures == [["i1", "refused"]]


def test_a_withheld_instance_is_counted_with_its_reason():
    summary = ReplicationSummary()
    count(summary, "i1", Outcome("withheld", reason="burned-in text"), log)
    assert summary.withheld == 1


@pytest.mark.parametrize(("kind", "tick"), [
    ("copied", (1, 4, 0, 0)), ("updated", (1, 4, 0, 0)), ("already", (1, 4, 0, 0)),
    ("failed", (0, 4, 1, 0)), ("unanswered", (0, 4, 1, 0)),
    ("skipped", (0, 4, 0, 1)), ("vanished", (0, 4, 0, 1)), ("withheld", (0, 4, 0, 1)),
])
def test_the_progress_counts_done_failed_and_not_attempted(kind, tick):
    ticks = Ticks()
    Outcome(kind, 4).advance(ticks)
    assert ticks.calls == [tick]
