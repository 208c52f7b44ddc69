"""Temporary peers: named so that a leftover is recognised, and removed only when left behind."""

from __future__ import annotations

import time

from copydicom_provider.copy.peer_overlap import PEER_HEADER
from copydicom_provider.copy.temporary_peer import (
    PEER_PREFIX,
    STALE_PEER_GRACE,
    TemporaryPeer,
    _peer_age,
    new_peer_name,
    remove_stale_peers,
)

DESTINATION = "http://destination:8042"


def push(peer: str, state: str, url: str = DESTINATION) -> dict:
    headers = {PEER_HEADER: peer} if peer else {}
    return {"Type": "OrthancPeerStore", "State": state, "Content": {"Peer": {"HttpHeaders": headers, "Url": url}}}


class Source:
    url = "http://source:8042"

    def __init__(self, peers: dict[str, dict], jobs: list[dict]) -> None:
        self._peers, self._jobs = peers, jobs
        self.deleted: list[str] = []
        self.registered: list[tuple] = []

    def peers(self) -> dict[str, dict]:
        return self._peers

    def jobs(self) -> list[dict]:
        return self._jobs

    def delete_peer(self, name: str) -> None:
        self.deleted.append(name)

    def put_peer(self, name, url, login, password, headers=None) -> None:
        self.registered.append((name, url, login, password, headers))


def test_a_name_carries_its_age():
    name = new_peer_name(now=1000.0)
    assert name.startswith(f"{PEER_PREFIX}1000-") and _peer_age(name, 1060.0) == 60.0
    assert _peer_age("copydicom-elsewhere", 1060.0) is None


def test_only_peers_left_behind_are_removed():
    now = time.time()
    young, old = new_peer_name(now - 5), new_peer_name(now - STALE_PEER_GRACE - 60)
    ended, running, busy = new_peer_name(now - 5), new_peer_name(now - 5), new_peer_name(now - STALE_PEER_GRACE - 60)
    peers = {
        young: {"Url": DESTINATION},  # no job yet: a live run's, kept for the grace period
        old: {"Url": DESTINATION},  # no job and old: left behind
        ended: {"Url": DESTINATION},  # its jobs all ended: its run ended or died
        running: {"Url": DESTINATION},  # a job still runs: kept
        busy: {"Url": "http://other:8042"},  # old, but an older copydicom's job pushes to its URL
        "someone-elses": {"Url": DESTINATION},
    }
    jobs = [push(ended, "Success"), push(running, "Running"), push("", "Running", "http://other:8042")]
    source = Source(peers, jobs)
    assert sorted(remove_stale_peers(source, 1800.0)) == sorted([old, ended])
    assert sorted(source.deleted) == sorted([old, ended])


def test_a_peer_is_registered_with_its_name_in_a_header():
    source = Source({}, [])
    TemporaryPeer(source, "copydicom-1-a", DESTINATION, "user", "secret").register()
    assert source.registered == [("copydicom-1-a", DESTINATION, "user", "secret", {PEER_HEADER: "copydicom-1-a"})]
