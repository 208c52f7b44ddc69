"""Whether a dose report holds all it declares: a short report is marked, never passed off as whole.

Why: a report damaged on the disk behind Orthanc (a file cut short) still parses, and gave 5 of its
9 events as if that were the exam. Two signs are checked: the report declares more irradiation
events (CT's "Total Number of Irradiation Events", 113812) than its content tree holds, and the file
Orthanc serves is shorter than the one it stored. Either makes the report *incomplete*: its
``dose_report`` record carries ``ReportIncomplete`` (the reason) under a key of its own
(``<id>:dose_report:incomplete``, so that a complete version read later adds its own record), and
the tags job counts it and fails its task (see :mod:`copydicom_provider.jobs.replicate_tags`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from copydicom_provider.records.size import fit_record, max_record_bytes

if TYPE_CHECKING:
    from copydicom_provider.records.instance import InstanceRecords

__all__ = ["INCOMPLETE_KEY", "declared_shortfall", "mark_incomplete", "short_file"]

#: Key of the reason a dose report is incomplete, on its dose_report record.
INCOMPLETE_KEY = "ReportIncomplete"
#: Appended to the dose_report record's key when the report is incomplete.
INCOMPLETE_SUFFIX = ":incomplete"


def declared_shortfall(report: dict[str, Any]) -> str | None:
    """``declares 9 irradiation events, holds 5`` when a report holds fewer events than it declares."""
    declared, found = report.get("NumberOfEvents"), report.get("EventCount", 0)
    if isinstance(declared, (int, float)) and not isinstance(declared, bool) and declared > found:
        return f"declares {declared:g} irradiation events, holds {found}"
    return None


def short_file(size: int | None, stored: int | None) -> str | None:
    """``file ends early: ...`` when the file read is shorter than the one Orthanc stored."""
    if size is not None and stored is not None and size < stored:
        return f"file ends early: {size} of the {stored} bytes Orthanc stored"
    return None


def mark_incomplete(records: InstanceRecords, reason: str, *, cut: bool = False,
                    max_bytes: int | None = None) -> None:
    """Mark the instance's dose_report record (reason, key of its own) and the instance as incomplete.

    ``cut``: the file ends early, so its last event read may be cut short -- without its UID (then keyed
    by position, it would be indexed again under its UID once the file is whole) or without its last
    values (then its key, already held, would keep the whole event out). That event is left out; the
    events before it are whole, since a file loses its end.
    """
    if cut:
        events = [n for n, r in enumerate(records.records) if r["RecordType"] == "irradiation_event"]
        if events:
            del records.records[events[-1]]
            reason += "; its last event read is not sent, it may be cut short"
    records.incomplete = "; ".join(filter(None, [records.incomplete, reason]))
    limit = max_record_bytes(max_bytes)
    for n, record in enumerate(records.records):
        if record["RecordType"] != "dose_report":
            continue
        marked = dict(record)
        if not marked["RecordKey"].endswith(INCOMPLETE_SUFFIX):
            marked["RecordKey"] += INCOMPLETE_SUFFIX
        marked[INCOMPLETE_KEY] = "; ".join(filter(None, [record.get(INCOMPLETE_KEY), reason]))
        records.records[n] = fit_record(marked, limit)
