"""Peer mode's own arithmetic: a job never started is counted as not attempted."""

from __future__ import annotations

import logging

from copydicom_provider.copy.peer import _give_up, _push_jobs
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.jobs.summary import ReplicationSummary


class Ticks:
    def __init__(self) -> None:
        self.skipped = 0

    def advance(self, count: int = 1, size: int = 0, *, failed: int = 0, skipped: int = 0) -> None:
        self.skipped += skipped


def test_a_job_never_started_counts_its_instances_as_not_attempted(caplog):
    summary, ticks = ReplicationSummary(), Ticks()
    with caplog.at_level(logging.ERROR):
        _give_up(summary, ticks, ["a", "b"], OrthancError("destination away"), logging.getLogger("test"))
        _give_up(summary, ticks, [], OrthancError("destination away"), logging.getLogger("test"))
    assert summary.not_attempted == 2 and ticks.skipped == 2
    assert caplog.text.count("2 instance(s) not attempted: destination away") == 1


def test_loose_instances_fill_jobs_up_to_the_size():
    groups = [(f"i{n}", [f"i{n}"]) for n in range(5)]
    assert [chunk for _, chunk in _push_jobs(groups, 2)] == [["i0", "i1"], ["i2", "i3"], ["i4"]]
    assert list(_push_jobs([], 2)) == []
