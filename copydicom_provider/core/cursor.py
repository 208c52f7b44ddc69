"""A position in the source's change log: where scheduled runs take up, so no interval is ever lost.

Orthanc numbers every change (``Seq``) and keeps counting across restarts and deletions. A job
that remembers the last ``Seq`` it covered can take up exactly there, however long the scheduler
was stopped, the DAG paused or a run failed: the next run covers ``(cursor, newest]``, plus the
instances of batches that did not finish (``retry``). Where the cursor is kept is the caller's
business (the DAGs keep it in an Airflow Variable, in the metadata database); this module only
reads the source.

A gap that the log cannot fill is detected and reported, then filled by reconciling every study
on the source (the ``all`` window, which copies only what is missing):

* the newest ``Seq`` is below the cursor: the source's database was reset or restored;
* the oldest ``Seq`` still in the log is past the cursor's next one: the log was cleared
  (``DELETE /changes``) or every change after the cursor was recycled away.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from copydicom_provider.core.window import CHANGES_PAGE, Candidates, first_seq_before
from copydicom_provider.hooks.orthanc import OrthancHook


@dataclass
class CursorState:
    """What a scheduled job has covered: changes up to ``seq``, except the ``retry`` candidates."""

    seq: int = 0
    retry: Candidates = field(default_factory=Candidates)

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "retry": self.retry.as_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> CursorState | None:
        if not data:
            return None
        return cls(seq=int(data.get("seq", 0)), retry=Candidates.from_dict(data.get("retry") or {}))


@dataclass
class CursorRun:
    """One run's share of the change log: candidates for ``(after, upto]``, and a gap if one was found."""

    after: int
    upto: int
    candidates: Candidates
    gap: str | None = None

    def describe(self) -> str:
        if self.gap:
            return f"every study on the source (reconciliation after a gap in its change log: {self.gap})"
        retry = len(self.candidates.studies) + len(self.candidates.instances)
        return f"changes {self.after + 1}..{self.upto} of the source's change log (with the unfinished work of earlier runs: {retry} candidates in all)"


def newest_seq(source: OrthancHook) -> int:
    """The newest change's ``Seq``; Orthanc reports it even when the log was cleared."""
    page = source.get_json("/changes", params={"last": ""})
    changes = page.get("Changes") or []
    return int(changes[-1]["Seq"] if changes else page.get("Last", 0))


def find_gap(source: OrthancHook, after: int, newest: int) -> str | None:
    """Why changes after ``after`` can no longer be read from the log, or None when they all can."""
    if newest < after:
        return (f"the source's change log ends at {newest}, before this job's cursor {after}: "
                "the source's database was reset or restored")
    if newest == after:
        return None
    oldest = source.changes(since=0, limit=1)["Changes"]
    first = int(oldest[0]["Seq"]) if oldest else newest + 1
    if first > after + 1:
        return (f"changes {after + 1}..{first - 1} are no longer in the source's change log "
                "(cleared, or recycled while this job did not run)")
    return None


def instances_after(source: OrthancHook, after: int, upto: int) -> Iterator[str]:
    """IDs of instances whose NewInstance change has ``after < Seq <= upto``, once each, in order."""
    seen: set[str] = set()
    since = after
    while since < upto:
        page = source.changes(since=since, limit=CHANGES_PAGE)
        for change in page["Changes"]:
            if change["Seq"] > upto:
                return
            if change["ChangeType"] == "NewInstance" and change["ID"] not in seen:
                seen.add(change["ID"])
                yield change["ID"]
        if page["Done"] or not page["Changes"]:
            return
        since = page["Last"]


def plan_cursor_run(source: OrthancHook, state: CursorState | None, start: datetime | None) -> CursorRun:
    """The candidates of a run that takes up at ``state`` (or, for a job's first run, at ``start``)."""
    newest = newest_seq(source)
    if state is None:
        after, retry, gap = first_seq_before(source, start), Candidates(), None
    else:
        after, retry = state.seq, state.retry
        gap = find_gap(source, after, newest)
    if gap:
        studies = list(dict.fromkeys([*retry.studies, *source.list_ids("studies")]))
        return CursorRun(after, newest, Candidates(studies=studies, instances=list(retry.instances)), gap)
    instances = list(dict.fromkeys([*retry.instances, *instances_after(source, after, newest)]))
    return CursorRun(after, newest, Candidates(studies=list(retry.studies), instances=instances), None)


def advance(current: CursorState | None, run_after: int, run_upto: int, unfinished: Candidates) -> CursorState:
    """The cursor after a run that covered ``(run_after, run_upto]`` and left ``unfinished`` undone.

    When another run moved the cursor meanwhile (an old run cleared and rerun), nothing it did is
    undone: the cursor never moves back, and both runs' unfinished work stays to retry.
    """
    if current is None or current.seq <= run_after:
        return CursorState(seq=run_upto, retry=unfinished)
    merged = Candidates(
        studies=list(dict.fromkeys([*current.retry.studies, *unfinished.studies])),
        instances=list(dict.fromkeys([*current.retry.instances, *unfinished.instances])),
    )
    return CursorState(seq=max(current.seq, run_upto), retry=merged)
