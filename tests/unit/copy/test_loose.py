"""The bulk settling's decisions, on an in-memory pair of servers (the real ones: tests/integration/copy)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from copydicom_provider.copy import loose
from copydicom_provider.hooks.errors import OrthancError

NOW = datetime(2026, 12, 3, 6, 0, 0, tzinfo=timezone.utc)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


class Server:
    """Instances as ID -> (md5, size, reception); ``bulk`` False: an Orthanc older than /tools/bulk-content."""

    def __init__(self, instances, *, bulk=True, clock=NOW):
        self.instances, self.bulk, self.clock, self.md5_asked = instances, bulk, clock, []
        self.bulk_asked: list[int] = []
        self.looked_up: list[str] = []
        self.settings = SimpleNamespace(max_parallel=2)

    def get_conn(self):
        pass

    def instance_exists(self, instance_id):
        self.looked_up.append(instance_id)
        return instance_id in self.instances

    def bulk_instances(self, ids, metadata=True):
        self.bulk_asked.append(len(ids))
        if not self.bulk:
            raise OrthancError("no such resource", status=404)
        return [{"ID": i, "FileSize": self.instances[i][1], "Metadata": {"ReceptionDate": stamp(self.instances[i][2])}}
                for i in ids if i in self.instances]

    def stored_md5(self, instance_id):
        self.md5_asked.append(instance_id)
        held = self.instances.get(instance_id)
        return held[0] if held else None

    def now(self):
        return stamp(self.clock)


def test_each_case_is_settled_by_what_can_vouch_for_it():
    old = NOW - timedelta(hours=1)
    source = Server({"same": ("a", 10, old), "bigger": ("b2", 12, NOW), "fresh": ("c2", 10, NOW),
                     "gone-from-source": ("x", 1, old), "missing": ("m", 10, old)})
    source.instances.pop("gone-from-source")
    destination = Server({"same": ("a", 10, old + timedelta(minutes=1)), "bigger": ("b", 10, old),
                          "fresh": ("c", 10, NOW - timedelta(seconds=1)), "gone-from-source": ("x", 1, old)})
    ids = ["same", "bigger", "fresh", "gone-from-source", "missing"]
    states = loose.settle(source, destination, ids, workers=1)
    assert states == {"same": "same", "bigger": "differs", "fresh": "differs", "gone-from-source": "same",
                      "missing": "missing"}
    assert destination.md5_asked == ["fresh"] and source.md5_asked == ["fresh"]  # only what dates cannot settle


def test_a_destination_clock_ahead_is_taken_off_its_reception_dates():
    stored_at = NOW - timedelta(minutes=10)
    source = Server({"i": ("new", 10, stored_at)})
    # Copied 5 minutes before the correction, on a clock an hour ahead: it reads 55 minutes after it.
    destination = Server({"i": ("old", 10, stored_at + timedelta(minutes=55))}, clock=NOW + timedelta(hours=1))
    assert loose.settle(source, destination, ["i"], workers=1) == {"i": "differs"}


@pytest.mark.parametrize("which", ["source", "destination"])
def test_a_server_without_bulk_content_gets_each_instance_asked_alone(which):
    old = NOW - timedelta(hours=1)
    source = Server({"a": ("1", 10, old), "b": ("2", 10, old)}, bulk=which != "source")
    destination = Server({"a": ("1", 10, NOW)}, bulk=which != "destination")
    assert loose.settle(source, destination, ["a", "b"], workers=1) == {"a": "same", "b": "missing"}
    assert "a" in destination.md5_asked


def test_verify_asks_every_held_instance():
    old = NOW - timedelta(hours=1)
    source = Server({"a": ("1", 10, old)})
    destination = Server({"a": ("1", 10, NOW)})
    assert loose.settle(source, destination, ["a"], workers=1, compare_content=True) == {"a": "same"}
    assert destination.md5_asked == ["a"]


def test_the_margin_grows_with_the_file():
    assert loose.upload_margin(0) == loose.BASE_MARGIN
    assert loose.upload_margin(10 * loose.SLOWEST_UPLOAD) == loose.BASE_MARGIN + timedelta(seconds=10)


def test_held_by_asks_a_page_of_ids_per_request_and_one_by_one_only_without_bulk_content():
    held = {f"i{n}": ("m", 10, NOW) for n in range(0, 2500, 2)}
    ids = [f"i{n}" for n in range(2500)]
    server = Server(held)
    assert loose.held_by(server, ids, workers=1) == set(held)
    assert server.bulk_asked == [1000, 1000, 500] and server.looked_up == []  # 3 requests for 2,500 IDs
    older = Server(held, bulk=False)
    assert loose.held_by(older, ids[:10], workers=1) == {f"i{n}" for n in range(0, 10, 2)}
    assert older.looked_up == ids[:10]
    assert loose.held_by(server, []) == set()
