"""Reading a destination's change log: how a batch learns what really landed.

Why: neither a push job nor a lost reply says which instances were stored; the destination's log of
``NewInstance`` changes since a mark does, in a page per 1000 changes.
"""

from __future__ import annotations

from copydicom_provider.hooks.orthanc import OrthancHook


def last_seq(server: OrthancHook) -> int:
    """The newest change's number (0 on an empty server): the mark a batch counts from."""
    last = server.last_change()
    return last["Seq"] if last else 0


def new_instances_since(server: OrthancHook, since: int) -> set[str]:
    """IDs the server stored after change ``since``: a page per 1000 changes."""
    landed: set[str] = set()
    while True:
        page = server.changes(since=since, limit=1000)
        landed.update(c["ID"] for c in page["Changes"] if c["ChangeType"] == "NewInstance")
        if page["Done"] or not page["Changes"]:
            return landed
        since = page["Last"]
