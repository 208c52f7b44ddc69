"""Recognise the source a cursor was taken on: the change at the cursor's ``Seq``, as the source logged it.

Orthanc's ``/system`` carries no database identity, and a sequence number alone does not tell
databases apart: a replaced database counts again from 1, a restored one from its backup's last
change, and once either has logged past the cursor's number, "newest change < cursor" no longer
shows anything. The change itself does: its ``Seq``, type, resource ID and date (to the second)
are what the source wrote when it happened, and a different database has a different change at
that number, or none.

* Same change at that ``Seq``: the same database. Every later change of a resource still present
  is in the log too (Orthanc clears its log only whole, and drops only changes of deleted
  resources), so the run goes on from the cursor.
* Another change at that ``Seq``: the database was replaced, or restored from a backup taken
  before the cursor's change.
* No change at that ``Seq``: either its resource was deleted (Orthanc drops a deleted resource's
  changes; ``GET`` of its path answers 404), which is normal, or the log was cleared, or the
  database replaced while the resource came back (it answers 200).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from copydicom_provider.hooks.orthanc import OrthancHook

MARK_FIELDS = ("seq", "change_type", "resource_id", "date", "path")


@dataclass(frozen=True)
class ChangeMark:
    """One change log entry, kept with a cursor so that the next run can find it again."""

    seq: int
    change_type: str
    resource_id: str
    date: str
    path: str

    @classmethod
    def of(cls, change: dict[str, Any]) -> ChangeMark:
        return cls(seq=int(change["Seq"]), change_type=str(change["ChangeType"]), resource_id=str(change["ID"]),
                   date=str(change["Date"]), path=str(change.get("Path") or ""))

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in MARK_FIELDS}

    @classmethod
    def from_dict(cls, data: Any) -> ChangeMark:
        """Raises ValueError saying which field is wrong."""
        if not isinstance(data, dict):
            raise ValueError("its mark is not a JSON object")
        missing = [name for name in MARK_FIELDS if name not in data]
        if missing:
            raise ValueError(f"its mark lacks {', '.join(missing)}")
        if not isinstance(data["seq"], int) or isinstance(data["seq"], bool):
            raise ValueError("its mark's seq is not a whole number")
        return cls(seq=data["seq"], change_type=str(data["change_type"]), resource_id=str(data["resource_id"]),
                   date=str(data["date"]), path=str(data["path"]))

    def matches(self, change: dict[str, Any]) -> bool:
        return self == ChangeMark.of({**change, "Path": self.path})

    def describe(self) -> str:
        return f"{self.change_type} {self.resource_id} at {self.date}"


def describe_change(change: dict[str, Any]) -> str:
    return ChangeMark.of(change).describe()


@dataclass(frozen=True)
class Identity:
    """What the source's log says about a mark: ``gap`` (it is not the same source) or ``same``."""

    same: bool = False
    gap: str | None = None


def check_mark(source: OrthancHook, mark: ChangeMark, newest: dict[str, Any] | None) -> Identity:
    """Whether the source still holds the change ``mark`` recorded; ``newest`` (already read) may spare a request."""
    if newest is not None and int(newest["Seq"]) == mark.seq:
        found: dict[str, Any] | None = newest
    else:
        page = source.changes(since=mark.seq - 1, limit=1)["Changes"]
        found = page[0] if page and int(page[0]["Seq"]) == mark.seq else None
    if found is not None:
        if mark.matches(found):
            return Identity(same=True)
        return Identity(gap=(f"the change at this job's cursor (Seq {mark.seq}) was {mark.describe()} and is now "
                             f"{describe_change(found)}: the source's database was replaced or restored from a backup"))
    if not mark.path or source.request("GET", mark.path, ok=(200, 404)).status_code == 404:
        return Identity()  # its resource was deleted: no verdict from this mark
    return Identity(gap=(f"the change at this job's cursor (Seq {mark.seq}, {mark.describe()}) is no longer in the "
                         "source's change log, though its resource is still there: the log was cleared, or the "
                         "source's database was replaced or restored from a backup"))
