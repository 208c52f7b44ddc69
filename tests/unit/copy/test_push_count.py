"""A finished push job is counted from the destination: its log, then a look-up, never the job's word."""

from __future__ import annotations

from contextlib import nullcontext
from types import SimpleNamespace

import pytest

from copydicom_provider.copy import push_count
from copydicom_provider.copy.push_count import FinishedJob, PushTally, account_push
from copydicom_provider.copy.push_job import LEFT_TO_OTHERS
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.jobs.summary import ReplicationSummary


class Destination:
    """Holds ``logged`` (stored during the job, so in its change log) and ``held`` (stored before)."""

    def __init__(self, logged: set[str], held: set[str] = frozenset(), away: bool = False) -> None:
        self.logged, self.held, self.away = set(logged), set(held), away
        self.settings = SimpleNamespace(max_parallel=2)

    def get_conn(self) -> None:
        pass

    def changes(self, since: int, limit: int) -> dict:
        if self.away:
            raise OrthancError("destination away", unreachable=True)
        page = [{"ChangeType": "NewInstance", "ID": i, "Seq": since + 1} for i in sorted(self.logged)]
        return {"Changes": page, "Done": True, "Last": since + 1}

    def bulk_instances(self, instance_ids: list[str], metadata: bool = True) -> list[dict]:
        return [{"ID": i} for i in instance_ids if i in self.held or i in self.logged]


class Progress:
    def __init__(self) -> None:
        self.done = self.failed = 0

    def advance(self, count: int = 1, size: int = 0, *, failed: int = 0, skipped: int = 0) -> None:
        self.done += count
        self.failed += failed


SOURCE = SimpleNamespace(name="source Orthanc", settings=SimpleNamespace(max_parallel=2), get_conn=lambda: None)


def job(state: str = "Success", **extra) -> dict:
    return {"ID": "j1", "State": state, "Content": {"Size": 300}, **extra}


def test_what_landed_is_copied_what_was_there_is_present_the_rest_failed():
    summary, progress, tally = ReplicationSummary(), Progress(), PushTally()
    finished = FinishedJob(["a", "b", "c", "d"], job(), 0)
    assert account_push(SOURCE, Destination({"a", "b"}, {"c"}), finished, summary, progress, False, tally) is None
    assert (summary.copied, summary.already_present, summary.failed, summary.bytes) == (2, 1, 1, 300)
    assert summary.failures[0][0] == "d" and "did not store the instance" in summary.failures[0][1]
    assert tally.copied == ["a", "b"] and (progress.done, progress.failed) == (3, 1)


def test_what_an_earlier_job_of_another_run_pushed_too_is_its_to_count():
    summary, tally = ReplicationSummary(), PushTally()
    finished = FinishedJob(["a", "b"], job(**{LEFT_TO_OTHERS: {"b"}}), 0)
    account_push(SOURCE, Destination({"a", "b"}), finished, summary, Progress(), False, tally)
    assert (summary.copied, summary.already_present) == (1, 1) and tally.copied == ["a"]


def test_a_destination_away_defers_the_job_or_leaves_it_not_confirmed():
    summary, tally = ReplicationSummary(), PushTally()
    finished = FinishedJob(["a", "b"], job(), 0)
    gone = account_push(SOURCE, Destination(set(), away=True), finished, summary, Progress(), False, tally)
    assert gone is not None and gone.unreachable and tally.deferred == [finished] and summary.failed == 0

    progress = Progress()
    account_push(SOURCE, Destination(set(), away=True), finished, summary, progress, False, tally, defer=False)
    assert summary.failed == 2 and "not confirmed: destination away" in summary.failures[0][1] and progress.failed == 2


def test_only_a_failed_job_with_undelivered_instances_is_diagnosed(monkeypatch):
    asked: list[dict] = []
    full = OrthancError("full", orthanc_status=19)

    def diagnose(source, destination, problems, summary, progress, reason):
        asked.append(dict(problems))
        return full

    monkeypatch.setattr(push_count, "diagnose_failed_push", diagnose)
    summary = ReplicationSummary()
    account_push(SOURCE, Destination({"a"}), FinishedJob(["a"], job("Failure"), 0), summary, Progress(), False,
                 PushTally())
    assert asked == []
    stop = account_push(SOURCE, Destination({"a"}), FinishedJob(["a", "b"], job("Failure", ErrorDetails="protocol"), 0),
                        summary, Progress(), False, PushTally())
    assert stop is full and list(asked[0]) == ["b"] and "ended Failure: protocol" in asked[0]["b"]


@pytest.mark.parametrize("state", ["Success", "Failure"])
def test_an_error_other_than_away_is_raised(state):
    class Refusing(Destination):
        def changes(self, since: int, limit: int) -> dict:
            raise OrthancError("forbidden", status=403)

    with pytest.raises(OrthancError, match="forbidden"):
        account_push(SOURCE, Refusing(set()), FinishedJob(["a"], job(state), 0), ReplicationSummary(), Progress(),
                     False, PushTally())


def test_with_verify_each_arrival_s_md5_is_checked():
    class Checked(Destination):
        slots = nullcontext()

        def attachment_md5(self, instance_id: str) -> str:
            return "bad" if instance_id == "b" else "md5"

    source = SimpleNamespace(**vars(SOURCE), slots=nullcontext(), attachment_md5=lambda instance_id: "md5")
    summary, tally = ReplicationSummary(), PushTally()
    account_push(source, Checked({"a", "b"}), FinishedJob(["a", "b"], job(), 0), summary, Progress(), True, tally)
    assert (summary.copied, summary.verified, summary.failed) == (1, 1, 1) and tally.copied == ["a"]
    assert summary.failures[0][0] == "b" and "verification failed" in summary.failures[0][1]
