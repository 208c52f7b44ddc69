"""The peer-mode push jobs under faults, against real Orthanc processes: a worker killed or interrupted during a
push, a job that runs too long, a peer removed by another run, SIGTERM to a task. Each checks that no temporary
peer and no push job is left behind, and what really landed on the destination.
"""


from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from copydicom_provider.copy import peer, peer_jobs, temporary_peer
from copydicom_provider.jobs.candidates import Candidates
from copydicom_provider.jobs.replicate import ReplicationFailed, copy_candidates, replicate
from tests.support.copy_faults import hook, many, running_jobs, temporary_peers
from tests.support.fixtures_orthanc import (
    instance_ids,
    seed,
    slow_ingest,
)


def test_a_peer_left_by_a_killed_worker_is_removed_by_the_next_run_at_once(source, destination):
    """Its jobs ended, so it is left behind: the rerun right after removes it without waiting out the grace
    period (a peer whose jobs are still running, or that has none yet, is another run's and is kept)."""
    items = seed(source, many(8, 25))
    script = (
        "import sys; from copydicom_provider.jobs.replicate import replicate; "
        "replicate(sys.argv[1], sys.argv[2], mode='peer')"
    )
    worker = subprocess.Popen([sys.executable, "-c", script, source.url_with_credentials,
                               destination.url_with_credentials], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60

    def push_jobs() -> list[dict]:
        jobs = requests.get(f"{source.url}/jobs?expand", auth=source.auth, timeout=10).json()
        return [j for j in jobs if j.get("Type") == "OrthancPeerStore"]

    # killed once its first push job exists (a peer with no job yet is kept: it may be a live run's)
    while not (temporary_peers(source) and push_jobs()) and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    left = temporary_peers(source)
    assert len(left) == 1  # the killed worker could not clean up
    while any(j["State"] in {"Pending", "Running"} for j in requests.get(
            f"{source.url}/jobs?expand", auth=source.auth, timeout=10).json()) and time.monotonic() < deadline:
        time.sleep(0.1)

    assert temporary_peer._peer_age(left[0], time.time()) < temporary_peer.STALE_PEER_GRACE
    summary = replicate(source.url_with_credentials, destination.url_with_credentials, mode="peer")
    assert temporary_peers(source) == []
    assert summary.copied + summary.already_present == len(items)
    assert instance_ids(destination) == {i.orthanc_id for i in items}


def test_a_run_whose_peer_another_run_removed_between_two_jobs_registers_it_again(source, destination, monkeypatch):
    monkeypatch.setattr(peer, "PEER_JOB_SIZE", 10)
    items = seed(source, many(4, 10, size=64))
    src = hook(source)
    start = src.store_to_peer
    started: list[str] = []

    def store_after_a_removal(name: str, resources: list[str]) -> str:
        if len(started) == 1:  # as another run's start does when all of this peer's jobs have ended
            src.delete_peer(name)
        started.append(name)
        return start(name, resources)

    monkeypatch.setattr(src, "store_to_peer", store_after_a_removal)
    summary = copy_candidates(src, hook(destination), Candidates(instances=[i.orthanc_id for i in items]), mode="peer")
    assert (summary.copied, summary.failed) == (len(items), 0), summary.line()
    assert instance_ids(destination) == {i.orthanc_id for i in items} and temporary_peers(source) == []


def test_peer_job_wait_is_bounded_and_cleans_up(source, destination):
    items = seed(source, many(12, 25))
    summary = copy_candidates(hook(source), hook(destination), Candidates(studies=[items[0].study_orthanc_id]),
                              mode="peer", peer_job_timeout=0.05)
    assert summary.incomplete and "cancelled after 0.05 s (peer_job_timeout)" in summary.failure_text()
    assert temporary_peers(source) == []
    # whatever the cancelled job delivered is counted from the destination, and a rerun finishes
    landed = instance_ids(destination)
    assert summary.copied == len(landed)
    rerun = copy_candidates(
        hook(source), hook(destination), Candidates(studies=[items[0].study_orthanc_id]), mode="peer"
    )
    assert rerun.copied == len(items) - len(landed)


def test_on_kill_cancels_the_push_job_and_removes_the_peer(source, destination):
    items = seed(source, many(16, 25))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            copy_candidates(
                hook(source), hook(destination), Candidates(studies=[items[0].study_orthanc_id]), mode="peer"
            )
        except ReplicationFailed as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while not temporary_peers(source) and time.monotonic() < deadline:
        time.sleep(0.005)
    from copydicom_provider.operators.replicate import ReplicateOperator

    ReplicateOperator(task_id="copy", mode="peer").on_kill()
    thread.join(60)
    assert temporary_peers(source) == []
    states = {j["State"] for j in requests.get(f"{source.url}/jobs?expand", auth=source.auth, timeout=10).json()}
    assert not states & {"Pending", "Running"}


def test_an_interrupt_while_lanes_take_their_next_jobs_ends_the_run(source, destination, monkeypatch):
    """Ctrl-C cancels the running push jobs; each lane then sees its job fail and takes the next one.
    Those failures must not hold the lanes waiting for a verdict that the interrupted run never gives."""
    monkeypatch.setattr(peer, "PEER_JOB_SIZE", 10)
    slow_ingest(destination, 20)  # jobs still run when the interrupt comes
    items = seed(source, many(8, 10, size=64))
    cancel = peer_jobs.ACTIVE_PEER_JOBS.cancel_jobs

    def cancel_then_let_the_lanes_move_on(peer: str) -> None:
        cancel(peer)
        time.sleep(2)  # the lanes notice the cancelled jobs and dequeue their next ones before shutdown

    def interrupt(*args, **kwargs):  # Ctrl-C while the other lane's push job runs on the source
        deadline = time.monotonic() + 30
        while not running_jobs(source) and time.monotonic() < deadline:
            time.sleep(0.005)
        raise KeyboardInterrupt

    monkeypatch.setattr(peer_jobs.ACTIVE_PEER_JOBS, "cancel_jobs", cancel_then_let_the_lanes_move_on)
    monkeypatch.setattr(peer, "account_push", interrupt)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            copy_candidates(hook(source), hook(destination), Candidates(studies=[items[0].study_orthanc_id]),
                            mode="peer")
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the interrupted peer run hangs"
    assert [type(e) for e in outcome] == [KeyboardInterrupt]
    assert temporary_peers(source) == []
    assert not running_jobs(source)


def test_a_push_job_created_after_the_cancel_is_cancelled_too():
    """``cancel_jobs`` cannot see a job the source is still creating: its registration says so."""
    cancelled: list[str] = []
    source = type("Source", (), {"cancel_job": staticmethod(cancelled.append)})()
    jobs = peer_jobs._PeerJobs()
    jobs.set(source, "copydicom-1-x")
    assert jobs.job("copydicom-1-x", "before")
    jobs.cancel_jobs("copydicom-1-x")
    assert cancelled == ["before"]
    assert not jobs.job("copydicom-1-x", "after")
    assert jobs.job("copydicom-1-x", "after", running=False)
    jobs.discard("copydicom-1-x")
    assert jobs.job("copydicom-1-x", "later")

    jobs.set(source, "copydicom-2-y")  # on_kill: every peer's jobs, and the peer itself
    source.delete_peer = cancelled.append
    jobs.cancel_all()
    assert cancelled[-1] == "copydicom-2-y"
    assert not jobs.job("copydicom-2-y", "created-meanwhile")


@pytest.mark.parametrize("mode", ["rest", "peer"])
def test_sigterm_to_a_task_stops_the_copy_there_and_leaves_no_peer_or_job(source, destination, orthanc_connection,
                                                                          monkeypatch, mode):
    """Airflow's task runner answers SIGTERM (a pod or container stopped) by calling ``on_kill`` from its
    signal handler, in the task's thread, and then lets the task go on: ``on_kill`` must end the run
    there, through the clean-up Ctrl-C takes, rather than copy on until the SIGKILL that follows."""
    from copydicom_provider.operators.replicate import ReplicateOperator

    monkeypatch.setattr(peer, "PEER_JOB_SIZE", 10)
    slow_ingest(destination, 10)
    items = seed(source, many(8, 25, size=64))
    task = ReplicateOperator(task_id="copy", mode=mode, window="all", source_conn_id=orthanc_connection("src", source),
                             destination_conn_id=orthanc_connection("dst", destination))
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: task.on_kill())  # as Airflow's _on_term does

    def terminate_once_copying() -> None:
        deadline = time.monotonic() + 60
        while len(instance_ids(destination)) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    xcom = type("TI", (), {"xcom_push": lambda self, **kwargs: None})()
    threading.Thread(target=terminate_once_copying, daemon=True).start()
    try:
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):  # Terminated, as Ctrl-C
            task.execute({"ti": xcom})
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert temporary_peers(source) == [] and not running_jobs(source)
    landed = len(instance_ids(destination))
    time.sleep(0.5)
    assert 0 < landed == len(instance_ids(destination)) < len(items), "the copy went on after SIGTERM"
