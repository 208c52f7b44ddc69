"""One push job's life: polling pace, and a peer another run removed meanwhile."""

from __future__ import annotations

import pytest

from copydicom_provider.copy import push_job
from copydicom_provider.copy.peer_jobs import ACTIVE_PEER_JOBS
from copydicom_provider.copy.temporary_peer import TemporaryPeer
from copydicom_provider.hooks.errors import OrthancError


def test_polls_often_at_first_and_seldom_mid_job_never_beyond_the_bounds():
    assert push_job._poll_pause({"Progress": 0}, 1.0) == push_job.JOB_POLL_MIN * 4
    assert push_job._poll_pause({"Progress": 50}, 0.002) == push_job.JOB_POLL_MIN
    assert push_job._poll_pause({"Progress": 10}, 100.0) == push_job.JOB_POLL_MAX
    assert push_job._poll_pause({"Progress": 50}, 0.2) == pytest.approx(0.1)


class Source:
    """A source whose first ``store_to_peer`` finds the peer gone (HTTP 404)."""

    url = "http://source:8042"

    def __init__(self) -> None:
        self.registered: list[str] = []
        self.stores = 0

    def put_peer(self, name, url, login, password, headers=None) -> None:
        self.registered.append(name)

    def store_to_peer(self, name: str, resources: list[str]) -> str:
        self.stores += 1
        if self.stores == 1:
            raise OrthancError("no peer", status=404)
        return "job-1"


def test_a_peer_removed_meanwhile_is_registered_again():
    source = Source()
    peer = TemporaryPeer(source, "copydicom-1-a", "http://destination:8042", None, None)
    assert push_job._start_push_job(peer, ["study"]) == "job-1"
    assert source.registered == ["copydicom-1-a"]


def test_an_interrupted_run_does_not_register_its_peer_again():
    source = Source()
    peer = TemporaryPeer(source, "copydicom-2-b", "http://destination:8042", None, None)
    ACTIVE_PEER_JOBS.set(source, peer.name)
    ACTIVE_PEER_JOBS.cancel_jobs(peer.name)
    try:
        with pytest.raises(OrthancError):
            push_job._start_push_job(peer, ["study"])
    finally:
        ACTIVE_PEER_JOBS.discard(peer.name)
    assert source.registered == []
