"""Which instances are candidates for a job: the three windows shared by every job.

* ``received``: what the source received in ``[start, end)``, read from Orthanc's change log.
  Orthanc writes the log's ``Date`` in UTC at one-second resolution (checked by running Orthanc
  under another ``TZ``), by its own clock: the bounds are first moved onto that clock
  (:mod:`~copydicom_provider.jobs.source_clock`, one request), then compared to the second. The
  first entry of a window is found by binary search over ``since`` (the log is ordered by ``Seq``
  and so by date), then the window is paged forward: a window costs ``log2(changes) +
  entries/1000 + 1`` requests.
* ``study_date``: studies whose StudyDate lies in ``[from, to]`` (inclusive, like DICOM ranges),
  through ``/tools/find``: for backfilling a historical archive by clinical date.
* ``all``: every study on the source, the original CopyDICOM's behaviour.

Windows over studies yield study IDs (a whole study is settled with one request on each side);
the received window yields instance IDs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.source_clock import on_source_clock
from copydicom_provider.jobs.window_values import parse_day, parse_moment, to_utc  # also imported from here

WindowKind = Literal["received", "study_date", "all"]
WINDOW_KINDS: tuple[str, ...] = ("received", "study_date", "all")
#: The parameters that choose a run's window (see :func:`resolve_window`).
WINDOW_FIELDS: tuple[str, ...] = ("window", "since", "until", "study_date_from", "study_date_to")
CHANGES_PAGE = 1000


@dataclass(frozen=True)
class Window:
    """A candidate window; build it with :meth:`received`, :meth:`study_date` or :meth:`everything`."""

    kind: WindowKind
    start: datetime | None = None
    end: datetime | None = None
    study_date_from: date | None = None
    study_date_to: date | None = None

    @classmethod
    def received(cls, start: datetime | None, end: datetime | None) -> Window:
        if start and end and to_utc(start) >= to_utc(end):
            raise ValueError(f"Empty received window: start {start.isoformat()} is not before end {end.isoformat()}")
        return cls("received", start=start and to_utc(start), end=end and to_utc(end))

    @classmethod
    def study_date(cls, first: date | None, last: date | None) -> Window:
        if first is None and last is None:
            raise ValueError("A study-date window needs a first date, a last date, or both")
        if first and last and first > last:
            raise ValueError(f"Empty study-date window: {first} is after {last}")
        return cls("study_date", study_date_from=first, study_date_to=last)

    @classmethod
    def everything(cls) -> Window:
        return cls("all")

    def describe(self) -> str:
        if self.kind == "received":
            start = self.start.isoformat() if self.start else "the beginning"
            end = self.end.isoformat() if self.end else "now"
            return f"instances received in [{start}, {end})"
        if self.kind == "study_date":
            return f"studies dated {self.study_date_from or '...'} to {self.study_date_to or '...'}"
        return "every study on the source"


@dataclass
class Candidates:
    """What a job considers: whole studies and loose instances (Orthanc IDs)."""

    studies: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.studies or self.instances)

    def as_dict(self) -> dict[str, list[str]]:
        return {"studies": list(self.studies), "instances": list(self.instances)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidates:
        return cls(studies=list(data.get("studies") or []), instances=list(data.get("instances") or []))

    def split(
        self, studies_per_batch: int = 20, instances_per_batch: int = 500, max_batches: int = 512
    ) -> list[Candidates]:
        """Batches for dynamic task mapping, each copied by one mapped task; never an empty list.

        Batches grow when needed so that there are at most ``max_batches`` of each kind (Airflow
        caps a mapped task's length, 1024 by default).
        """
        studies_per_batch = max(studies_per_batch, -(-len(self.studies) // max_batches))
        instances_per_batch = max(instances_per_batch, -(-len(self.instances) // max_batches))
        batches = [
            Candidates(studies=self.studies[i : i + studies_per_batch])
            for i in range(0, len(self.studies), studies_per_batch)
        ]
        batches += [
            Candidates(instances=self.instances[i : i + instances_per_batch])
            for i in range(0, len(self.instances), instances_per_batch)
        ]
        return batches or [Candidates()]


def orthanc_timestamp(moment: datetime) -> str:
    """The change log's format: ``20261129T034636`` in UTC."""
    return to_utc(moment).strftime("%Y%m%dT%H%M%S")


def dicom_date(day: date) -> str:
    return day.strftime("%Y%m%d")


def enumerate_candidates(source: OrthancHook, window: Window) -> Candidates:
    if window.kind == "received":
        start, end = on_source_clock(source, window.start, window.end)
        return Candidates(instances=list(received_instances(source, start, end)))
    if window.kind == "study_date":
        first = dicom_date(window.study_date_from) if window.study_date_from else ""
        last = dicom_date(window.study_date_to) if window.study_date_to else ""
        return Candidates(studies=list(source.find_all("Study", {"StudyDate": f"{first}-{last}"})))
    return Candidates(studies=source.list_ids("studies"))


def first_seq_before(source: OrthancHook, start: datetime | None) -> int:
    """The largest ``since`` whose next change is dated at or after ``start`` (binary search)."""
    if start is None:
        return 0
    bound = orthanc_timestamp(start)
    last = source.last_change()
    if last is None or last["Date"] < bound:
        return last["Seq"] if last else 0
    low, high = 0, last["Seq"]  # invariant: the change after `high` is in the window
    while low < high:
        middle = (low + high) // 2
        page = source.changes(since=middle, limit=1)["Changes"]
        if page and page[0]["Date"] >= bound:
            high = middle
        else:
            low = page[0]["Seq"] if page else middle + 1
    return low


def received_instances(source: OrthancHook, start: datetime | None, end: datetime | None) -> Iterator[str]:
    """IDs of instances whose NewInstance change lies in ``[start, end)`` (source's clock), in arrival order, once each.

    A page read is filtered whole and the next is read only while the page ends before ``end``: a
    source clock stepped back leaves later changes dated before earlier ones, and those within
    the same page are still found, at no extra request.
    """
    upper = orthanc_timestamp(end) if end else None
    lower = orthanc_timestamp(start) if start else ""
    since = first_seq_before(source, start)
    seen: set[str] = set()
    while True:
        page = source.changes(since=since, limit=CHANGES_PAGE)
        for change in page["Changes"]:
            inside = change["Date"] >= lower and (upper is None or change["Date"] < upper)
            if inside and change["ChangeType"] == "NewInstance" and change["ID"] not in seen:
                seen.add(change["ID"])
                yield change["ID"]
        if page["Done"] or not page["Changes"] or (upper is not None and page["Changes"][-1]["Date"] >= upper):
            return
        since = page["Last"]




def resolve_window(
    choice: Mapping[str, Any], interval_start: datetime | None = None, interval_end: datetime | None = None
) -> Window:
    """The window of one run, from its :data:`WINDOW_FIELDS` (a DAG's params, an operator's arguments).

    The one place a window is resolved, for the DAGs' enumeration and the operators alike.
    ``received`` uses explicit ``since``/``until`` first, then the run's data interval. A run with
    neither (an Airflow 3 manual run without a logical date) copies everything the destination
    lacks: the original tool's behaviour, and safe because nothing is ever copied twice.
    """
    kind = choice.get("window", "received")
    since, until = choice.get("since"), choice.get("until")
    study_date_from, study_date_to = choice.get("study_date_from"), choice.get("study_date_to")
    if kind not in WINDOW_KINDS:
        raise ValueError(f"Unknown window {kind!r}: use one of {', '.join(WINDOW_KINDS)}")
    if kind == "study_date":
        return Window.study_date(parse_day(study_date_from), parse_day(study_date_to))
    if kind == "all":
        return Window.everything()
    start = parse_moment(since) or parse_moment(interval_start)
    end = parse_moment(until) or parse_moment(interval_end)
    if start is None and end is None:
        return Window.everything()
    return Window.received(start, end)
