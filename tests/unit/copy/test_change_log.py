"""What landed, read from the destination's change log a page at a time."""

from __future__ import annotations

from copydicom_provider.copy.change_log import last_seq, new_instances_since


class Log:
    """A change log of ``NewInstance`` and other changes, served in pages of ``limit``."""

    def __init__(self, changes: list[tuple[str, str]]) -> None:
        self._changes = [{"Seq": n, "ChangeType": kind, "ID": i} for n, (kind, i) in enumerate(changes, start=1)]
        self.pages = 0

    def last_change(self) -> dict | None:
        return self._changes[-1] if self._changes else None

    def changes(self, since: int, limit: int) -> dict:
        self.pages += 1
        page = [c for c in self._changes if c["Seq"] > since][:2]  # a page of two, whatever the limit asked
        last = page[-1]["Seq"] if page else since
        return {"Changes": page, "Done": last >= len(self._changes), "Last": last}


def test_the_mark_is_the_newest_change_or_zero():
    assert last_seq(Log([])) == 0
    assert last_seq(Log([("NewInstance", "a"), ("NewSeries", "s")])) == 2


def test_new_instances_since_the_mark_are_read_over_every_page():
    log = Log([("NewInstance", "a"), ("NewInstance", "b"), ("NewSeries", "s"), ("NewInstance", "c"),
               ("NewInstance", "d")])
    assert new_instances_since(log, 1) == {"b", "c", "d"} and log.pages == 2
