"""What the destination accepted and no longer holds is counted as failed, not as copied."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from copydicom_provider.copy.recycling import NOT_KEPT, check_kept
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.jobs.summary import ReplicationSummary


class Destination:
    url = "http://destination:8042"
    settings = SimpleNamespace(max_parallel=2)

    def __init__(self, logged: set[str], held: set[str], fails: bool = False) -> None:
        self.logged, self.held, self.fails = logged, held, fails
        self.looked_up: list[str] = []

    def get_conn(self) -> None:
        pass

    def changes(self, since: int, limit: int) -> dict:
        if self.fails:
            raise OrthancError("away", unreachable=True)
        return {"Changes": [{"ChangeType": "NewInstance", "ID": i} for i in sorted(self.logged)], "Done": True}

    def bulk_instances(self, instance_ids: list[str], metadata: bool = True) -> list[dict]:
        self.looked_up.extend(instance_ids)
        return [{"ID": i} for i in instance_ids if i in self.held]


def test_only_instances_missing_from_the_log_are_looked_up_and_the_gone_counted(caplog):
    summary = ReplicationSummary(copied=3)
    destination = Destination(logged={"a"}, held={"b"})
    with caplog.at_level(logging.WARNING):
        check_kept(destination, ["a", "b", "c"], 0, summary, logging.getLogger("test"))
    assert sorted(destination.looked_up) == ["b", "c"]
    assert summary.copied == 2 and summary.failures == [["c", NOT_KEPT]]
    assert "no longer there at the end of the batch" in caplog.text


def test_a_destination_that_cannot_be_asked_changes_no_count(caplog):
    summary = ReplicationSummary(copied=1)
    with caplog.at_level(logging.WARNING):
        check_kept(Destination(set(), set(), fails=True), ["a"], 0, summary, logging.getLogger("test"))
    assert summary.copied == 1 and summary.failed == 0 and "could not check" in caplog.text
