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
* the change at the cursor's ``Seq`` (its ``mark``, kept with the cursor) is another one, or gone
  while its resource is still there: the database was replaced or restored, even if its new log
  has passed the cursor's number (:mod:`~copydicom_provider.jobs.cursor_identity`);
* the oldest ``Seq`` still in the log is past the cursor's next one: the log was cleared
  (``DELETE /changes``) or every change after the cursor was recycled away;
* the stored cursor is not a cursor (edited by hand): :class:`BadCursor` names what is wrong, and
  the caller reconciles, since nothing tells where the job had got to.

Cursors stored before marks existed (``{"seq", "retry"}``) are read as they are and get a mark
when the run that read them moves them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.candidates import CHANGES_PAGE, Candidates, first_seq_before
from copydicom_provider.jobs.cursor_identity import ChangeMark, check_mark
from copydicom_provider.jobs.source_clock import on_source_clock

#: How to put a cursor right by hand, for messages about a bad one.
CURSOR_FORMAT = 'JSON {"seq": N} (N: a Seq of the source\'s /changes), or delete it'


class BadCursor(ValueError):
    """A stored cursor that is not one; the message names where it is kept and what is wrong."""


@dataclass
class CursorState:
    """What a scheduled job has covered: changes up to ``seq``, except the ``retry`` candidates.

    ``mark`` is the change at ``seq`` as the source logged it, so that the next run can tell the
    same source from a replaced or restored one; None for old cursors and an empty log.
    """

    seq: int = 0
    retry: Candidates = field(default_factory=Candidates)
    mark: ChangeMark | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"seq": self.seq, "retry": self.retry.as_dict()}
        if self.mark is not None:
            data["mark"] = self.mark.as_dict()
        return data

    @classmethod
    def from_dict(cls, data: Any) -> CursorState | None:
        """Raises ValueError saying what is wrong when ``data`` is not a cursor."""
        if not data:
            return None
        if not isinstance(data, dict):
            raise ValueError(f"it is a JSON {type(data).__name__}, not an object")
        seq = data.get("seq", 0)
        if isinstance(seq, bool) or not (isinstance(seq, int) or (isinstance(seq, str) and seq.isdecimal())):
            raise ValueError("its seq is not a whole number")
        if int(seq) < 0:
            raise ValueError("its seq is negative")
        retry = data.get("retry") or {}
        lists = [retry.get(kind) or [] for kind in ("studies", "instances")] if isinstance(retry, dict) else None
        if lists is None or not all(isinstance(ids, list) and all(isinstance(i, str) for i in ids) for ids in lists):
            raise ValueError('its retry is not {"studies": [IDs], "instances": [IDs]}')
        mark = ChangeMark.from_dict(data["mark"]) if data.get("mark") is not None else None
        if mark is not None and mark.seq != int(seq):
            mark = None  # a seq edited by hand: its old mark says nothing about the new position
        return cls(seq=int(seq), retry=Candidates.from_dict(retry), mark=mark)


def load_cursor(text: str | None, where: str) -> CursorState | None:
    """The cursor stored as JSON ``text`` (None: none yet); :class:`BadCursor` names ``where`` and what is wrong."""
    if text is None or not str(text).strip():
        return None
    try:
        return CursorState.from_dict(json.loads(text))
    except json.JSONDecodeError:
        reason = "it is not JSON"
    except ValueError as error:
        reason = str(error)
    raise BadCursor(f"{where} does not hold a cursor ({reason})")


@dataclass
class CursorRun:
    """One run's share of the change log: candidates for ``(after, upto]``, and a gap if one was found."""

    after: int
    upto: int
    candidates: Candidates
    gap: str | None = None
    #: the change at ``upto``, for the cursor this run leaves
    mark: ChangeMark | None = None

    def describe(self) -> str:
        if self.gap:
            return f"every study on the source (reconciliation after a gap in its change log: {self.gap})"
        retry = len(self.candidates.studies) + len(self.candidates.instances)
        return (f"changes {self.after + 1}..{self.upto} of the source's change log "
                f"(with the unfinished work of earlier runs: {retry} candidates in all)")


def newest_change(source: OrthancHook) -> tuple[int, dict[str, Any] | None]:
    """The newest change's ``Seq`` (Orthanc reports it even when the log was cleared) and the change, if any."""
    page = source.get_json("/changes", params={"last": ""})
    changes = page.get("Changes") or []
    return (int(changes[-1]["Seq"]), changes[-1]) if changes else (int(page.get("Last", 0)), None)


def newest_seq(source: OrthancHook) -> int:
    return newest_change(source)[0]


def find_gap(
    source: OrthancHook, after: int, newest: int, mark: ChangeMark | None = None, last: dict[str, Any] | None = None
) -> str | None:
    """Why changes after ``after`` can no longer be read from the log, or None when they all can.

    ``mark`` is the change the cursor recorded at ``after``; ``last``, the newest change (already read).
    """
    if newest < after:
        return (f"the source's change log ends at {newest}, before this job's cursor {after}: "
                "the source's database was reset or restored")
    if mark is not None and mark.seq == after:
        identity = check_mark(source, mark, last)
        if identity.gap or identity.same:
            return identity.gap
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


def plan_cursor_run(
    source: OrthancHook, state: CursorState | None, start: datetime | None, broken: str | None = None
) -> CursorRun:
    """The candidates of a run that takes up at ``state`` (or, for a job's first run, at ``start``).

    ``broken`` says why the stored cursor could not be read: the run then reconciles, like a gap.
    """
    newest, last = newest_change(source)
    mark = ChangeMark.of(last) if last else None
    if broken:
        after, retry, gap = 0, Candidates(), broken
    elif state is None:
        after, retry, gap = first_seq_before(source, on_source_clock(source, start, None)[0]), Candidates(), None
    else:
        after, retry = state.seq, state.retry
        gap = find_gap(source, after, newest, state.mark, last)
    if gap:
        studies = list(dict.fromkeys([*retry.studies, *source.list_ids("studies")]))
        return CursorRun(after, newest, Candidates(studies=studies, instances=list(retry.instances)), gap, mark)
    instances = list(dict.fromkeys([*retry.instances, *instances_after(source, after, newest)]))
    return CursorRun(after, newest, Candidates(studies=list(retry.studies), instances=instances), None, mark)


def advance(
    current: CursorState | None, run_after: int, run_upto: int, unfinished: Candidates, mark: ChangeMark | None = None
) -> CursorState:
    """The cursor after a run that covered ``(run_after, run_upto]`` and left ``unfinished`` undone.

    ``mark`` is the change at ``run_upto``. When another run moved the cursor meanwhile (an old run
    cleared and rerun), nothing it did is undone: the cursor never moves back, and both runs'
    unfinished work stays to retry.
    """
    if current is None or current.seq <= run_after:
        return CursorState(seq=run_upto, retry=unfinished, mark=mark)
    merged = Candidates(
        studies=list(dict.fromkeys([*current.retry.studies, *unfinished.studies])),
        instances=list(dict.fromkeys([*current.retry.instances, *unfinished.instances])),
    )
    if run_upto > current.seq:
        return CursorState(seq=run_upto, retry=merged, mark=mark)
    return CursorState(seq=current.seq, retry=merged, mark=current.mark)
