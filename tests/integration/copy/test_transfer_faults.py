"""The replicate side of the fault matrix, against real Orthanc processes.

Each test breaks something the way it breaks in a hospital (a destination killed mid-copy, a hung
source, a worker killed during a push, two runs at once, a corrected instance) and checks what
really landed on the destination against what the summary says.
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
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.candidates import Candidates
from copydicom_provider.jobs.replicate import ReplicationFailed, copy_candidates, replicate
from copydicom_provider.testing.dicom_generator import generate_studies, to_bytes
from tests.support.fixtures_orthanc import (
    failing_storage,
    free_space,
    full_destination,
    instance_bytes,
    instance_ids,
    seed,
    slow_ingest,
)


def hook(server, **extra) -> OrthancHook:
    query = "&".join(f"{k}={v}" for k, v in extra.items())
    return OrthancHook.from_url(server.url_with_credentials + (f"?{query}" if query else ""))


def many(count_series: int, per_series: int = 25, size: int = 256, seed_value: int = 1):
    return list(generate_studies(patients=1, studies_per_patient=1, series_per_study=count_series,
                                 instances_per_series=per_series, rows=size, columns=size, seed=seed_value))


def kill_when(server, landed: int, timeout: float = 60) -> threading.Thread:
    """SIGKILL ``server`` as soon as it holds ``landed`` instances (a watcher thread)."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                count = int(
                    requests.get(f"{server.url}/statistics", auth=server.auth, timeout=2).json()["CountInstances"]
                )
            except requests.RequestException:
                return
            if count >= landed:
                os.kill(server.process.pid, signal.SIGKILL)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def when_holding(server, landed: int, then, timeout: float = 60) -> threading.Thread:
    """Run ``then(server)`` as soon as ``server`` holds ``landed`` instances (a watcher thread)."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(instance_ids(server)) >= landed:
                then(server)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def pause(server, seconds: float = 5) -> None:
    """Stop answering for ``seconds`` (SIGSTOP), then go on: uploads under way time out, then land."""
    os.kill(server.process.pid, signal.SIGSTOP)
    time.sleep(seconds)
    os.kill(server.process.pid, signal.SIGCONT)


def restart(server, down: float = 0.5) -> None:
    """SIGKILL, then the same storage and port again, as a container restart does."""
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(10)
    time.sleep(down)
    server.start()


def temporary_peers(server) -> list[str]:
    names = requests.get(f"{server.url}/peers", auth=server.auth, timeout=10).json()
    return [name for name in names if name.startswith(temporary_peer.PEER_PREFIX)]


def test_a_corrected_instance_replaces_the_destinations_copy(orthanc_factory):
    source = orthanc_factory("source", extra_config={"OverwriteInstances": True})
    destination = orthanc_factory("destination")  # default: does not overwrite
    items = seed(
        source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=3)
    )
    first = replicate(source.url_with_credentials, destination.url_with_credentials, since=None, until=None)
    assert first.copied == 3

    corrected = items[1].dataset
    corrected.PatientName = "Corrected^Name"
    corrected.PixelData = bytes(reversed(corrected.PixelData))
    reply = requests.post(f"{source.url}/instances", data=to_bytes(corrected), auth=source.auth, timeout=30).json()
    assert reply["ID"] == items[1].orthanc_id and reply["Status"] == "Success"

    from datetime import datetime, timedelta, timezone

    recent = datetime.now(timezone.utc) - timedelta(minutes=5)
    summary = replicate(source.url_with_credentials, destination.url_with_credentials, since=recent)
    assert summary.updated == 1 and summary.copied == 0 and summary.already_present == 2, summary.line()
    assert "updated 1" in summary.line()
    assert instance_bytes(destination, items[1].orthanc_id) == instance_bytes(source, items[1].orthanc_id)
    assert instance_ids(destination) == {i.orthanc_id for i in items}

    again = replicate(source.url_with_credentials, destination.url_with_credentials, since=recent)
    assert again.updated == 0 and again.already_present == 3


def test_verify_finds_corrections_in_study_windows_and_says_what_it_verified(orthanc_factory):
    source = orthanc_factory("source", extra_config={"OverwriteInstances": True})
    destination = orthanc_factory("destination")
    items = seed(
        source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=2)
    )
    replicate(source.url_with_credentials, destination.url_with_credentials)  # window all
    corrected = items[0].dataset
    corrected.PatientName = "Fixed^Name"
    requests.post(f"{source.url}/instances", data=to_bytes(corrected), auth=source.auth, timeout=30).raise_for_status()

    plain = replicate(source.url_with_credentials, destination.url_with_credentials)
    assert plain.updated == 0  # a study window holds no reception: only verify compares content
    checked = replicate(source.url_with_credentials, destination.url_with_credentials, verify=True)
    assert checked.updated == 1 and checked.verified >= 1 and "verified by MD5" in checked.line()
    assert instance_bytes(destination, items[0].orthanc_id) == instance_bytes(source, items[0].orthanc_id)


def test_two_runs_at_once_count_each_instance_once(source, destination):
    items = seed(source, many(8, 25, size=64))
    candidates = Candidates(instances=[i.orthanc_id for i in items])
    results = []

    def run() -> None:
        results.append(copy_candidates(hook(source), hook(destination), candidates))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 2
    assert sum(r.copied for r in results) == len(items), [r.line() for r in results]
    for result in results:
        assert result.copied + result.already_present == len(items) and result.failed == 0
    assert instance_ids(destination) == {i.orthanc_id for i in items}


def test_two_peer_runs_at_once_add_up_to_what_the_destination_stored(source, destination):
    """Push jobs say nothing per instance: each run counts from the destination's log, where both find
    what either pushed. A job that another run's earlier job overlaps leaves those instances to it."""
    slow_ingest(destination, 2)  # both runs' jobs run at once, however fast the machine
    items = seed(source, many(8, 25, size=64))
    candidates = Candidates(studies=[items[0].study_orthanc_id])
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        copy_candidates(hook(source), hook(destination), candidates, mode="peer"))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 2
    assert sum(r.copied for r in results) == len(instance_ids(destination)) == len(items), [r.line() for r in results]
    for result in results:
        assert result.copied + result.already_present == len(items) and result.failed == 0, result.line()
    assert temporary_peers(source) == []


def test_an_upload_the_destination_fails_inside_once_is_sent_once_more(source, destination, caplog):
    """Orthanc answers HTTP 500 when two uploads create the same new storage folder at once (seen in
    CI with two runs at once): one more send stores it, and nothing is stored twice."""
    items = seed(source, many(2, 10, size=64))
    failing_storage(destination, first_try_only=True)
    summary = copy_candidates(hook(source), hook(destination), Candidates(instances=[i.orthanc_id for i in items]))
    assert (summary.copied, summary.failed) == (len(items), 0), summary.line()
    assert instance_ids(destination) == {i.orthanc_id for i in items}
    assert instance_bytes(destination, items[0].orthanc_id) == instance_bytes(source, items[0].orthanc_id)
    assert "storage fault" in caplog.text and "sending instance" in caplog.text


def test_an_upload_the_destination_always_fails_inside_fails_with_its_reason(source, destination):
    items = seed(source, many(1, 6, size=64))
    failing_storage(destination, first_try_only=False)
    with pytest.raises(ReplicationFailed) as raised:
        replicate(source.url_with_credentials, destination.url_with_credentials)
    summary = raised.value.summary
    assert (summary.copied, summary.failed) == (0, len(items)), summary.line()
    assert "HTTP 500" in summary.failure_text() and "storage fault" in summary.failure_text()


def test_destination_killed_mid_copy_rest(source, destination):
    slow_ingest(destination, 5)  # the kill lands mid-copy however fast the machine
    items = seed(source, many(12, 25))
    watcher = kill_when(destination, 40)
    with pytest.raises(ReplicationFailed) as raised:
        replicate(source.url_with_credentials, destination.url_with_credentials)
    watcher.join(10)
    summary = raised.value.summary
    assert summary.copied + summary.failed + summary.not_attempted == len(items), summary.line()
    assert summary.not_attempted > 0 and "destination Orthanc" in raised.value.args[0]

    destination.start()  # same storage and port: what it acknowledged must be there
    landed = instance_ids(destination)
    assert summary.copied <= len(landed) <= summary.copied + summary.failed
    rerun = replicate(source.url_with_credentials, destination.url_with_credentials)
    assert rerun.copied == len(items) - len(landed) and rerun.already_present == len(landed)
    assert instance_ids(destination) == {i.orthanc_id for i in items}


def test_destination_killed_mid_copy_peer(source, destination, monkeypatch):
    monkeypatch.setattr(peer, "PEER_JOB_SIZE", 25)
    slow_ingest(destination, 5)  # the kill lands mid-copy however fast the machine
    items = seed(source, many(12, 25))
    watcher = kill_when(destination, 60)
    with pytest.raises(ReplicationFailed) as raised:
        replicate(source.url_with_credentials, destination.url_with_credentials, mode="peer")
    watcher.join(10)
    summary = raised.value.summary
    assert summary.copied + summary.failed + summary.not_attempted == len(items), summary.line()
    assert summary.copied >= 25  # jobs before the kill are counted from the destination
    assert temporary_peers(source) == []  # no credentials left behind on the source

    destination.start()
    landed = instance_ids(destination)
    assert summary.copied <= len(landed) <= summary.copied + summary.failed
    rerun = replicate(source.url_with_credentials, destination.url_with_credentials, mode="peer")
    assert rerun.copied == len(items) - len(landed)
    assert instance_ids(destination) == {i.orthanc_id for i in items}


@pytest.mark.parametrize("mode", ["rest", "peer"])
def test_after_a_destination_restart_only_what_it_really_lacks_counts_as_failed(source, destination, mode,
                                                                                 monkeypatch):
    """Uploads whose reply was lost (rest: the destination stopped answering beyond the timeout, then went
    on; peer: it was restarted while its jobs were counted) are asked of the destination once it answers."""
    monkeypatch.setattr(peer, "PEER_JOB_SIZE", 25)
    slow_ingest(destination, 5)
    items = seed(source, many(8, 25))
    watcher = when_holding(destination, 40, pause if mode == "rest" else restart)
    summary = copy_candidates(
        hook(source), hook(destination, timeout=1), Candidates(instances=[i.orthanc_id for i in items]), mode=mode
    )
    watcher.join(30)
    landed = instance_ids(destination)
    assert summary.copied == len(landed) and 0 < len(landed) < len(items), (summary.line(), summary.failures)
    assert summary.copied + summary.failed + summary.not_attempted == len(items), summary.line()
    rerun = copy_candidates(
        hook(source), hook(destination), Candidates(instances=[i.orthanc_id for i in items]), mode=mode
    )
    assert (rerun.copied, rerun.already_present) == (len(items) - len(landed), len(landed)), rerun.line()


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


def running_jobs(server) -> list[dict]:
    jobs = requests.get(f"{server.url}/jobs?expand", auth=server.auth, timeout=10).json()
    return [job for job in jobs if job["State"] in {"Pending", "Running"}]


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


def test_a_hung_source_stops_the_batch_within_about_two_timeouts(source, destination):
    items = seed(source, many(4, 25, size=64))
    os.kill(source.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        summary = copy_candidates(
            hook(source, timeout=2), hook(destination), Candidates(instances=[i.orthanc_id for i in items])
        )
        elapsed = time.monotonic() - started
    finally:
        os.kill(source.process.pid, signal.SIGCONT)
    assert elapsed < 2 * 2 + 4, elapsed  # two timeouts, and slack for a loaded machine
    assert summary.copied == 0 and summary.not_attempted >= len(items) - 8
    assert summary.failed + summary.not_attempted == len(items)
    assert "source Orthanc" in summary.failure_text()


def test_progress_never_says_100_percent_when_instances_failed(source, destination, caplog):
    slow_ingest(destination, 5)  # the kill lands mid-copy however fast the machine
    items = seed(source, many(8, 25))
    caplog.set_level("INFO", logger="copydicom_provider")
    watcher = kill_when(destination, 30)
    summary = copy_candidates(hook(source), hook(destination), Candidates(instances=[i.orthanc_id for i in items]),
                              progress_interval=0)
    watcher.join(10)
    assert summary.incomplete and summary.copied < len(items)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("progress:")]
    assert lines and all("(100%)" not in line for line in lines), lines[-3:]
    assert f"copied {summary.copied}/{len(items)}" in lines[-1]
    assert "not attempted" in lines[-1] or "failed" in lines[-1]


def test_destination_equal_to_source_is_refused(source):
    with pytest.raises(ValueError, match="same server"):
        replicate(source.url_with_credentials, source.url_with_credentials)


def test_a_destination_that_does_not_keep_what_it_accepted_is_reported(source, orthanc_factory):
    """Storage recycling (MaximumPatientCount) drops earlier patients: not counted as copied, reported."""
    destination = orthanc_factory("destination", extra_config={"MaximumPatientCount": 1})
    items = seed(
        source, generate_studies(patients=3, studies_per_patient=1, series_per_study=1, instances_per_series=2)
    )
    with pytest.raises(ReplicationFailed) as raised:
        replicate(source.url_with_credentials, destination.url_with_credentials)
    summary = raised.value.summary
    kept = instance_ids(destination)
    assert summary.copied == len(kept) < len(items), summary.line()
    assert summary.failed == len(items) - len(kept)
    assert "no longer holds it" in summary.failure_text()


@pytest.mark.parametrize("mode", ["rest", "peer"])
def test_a_rerun_to_a_recycling_destination_counts_nothing_it_no_longer_holds(source, orthanc_factory, mode):
    """MaximumPatientCount 3 with recycling: the rerun stores the patients recycled by the first run and
    pushes the others out. What it then counts as copied or present must be what the destination holds."""
    destination = orthanc_factory("destination", extra_config={"MaximumPatientCount": 3})
    items = seed(
        source, generate_studies(patients=6, studies_per_patient=1, series_per_study=1, instances_per_series=3)
    )
    for run in ("first", "rerun"):
        with pytest.raises(ReplicationFailed) as raised:
            replicate(source.url_with_credentials, destination.url_with_credentials, mode=mode)
        summary = raised.value.summary
        held = instance_ids(destination) & {i.orthanc_id for i in items}
        # about 3 patients' worth; fewer when concurrent uploads of several patients recycle each other
        assert 0 < len(held) <= 9, (run, len(held))
        assert summary.copied + summary.already_present == len(held), (run, summary.line())
        assert summary.failed == len(items) - len(held), (run, summary.line())


@pytest.mark.parametrize("mode", ["rest", "peer"])
def test_a_full_destination_stops_the_batch_and_says_what_to_do(source, orthanc_factory, mode, monkeypatch):
    """Orthanc's FullStorage: the batch stops at once (the rest is not sent only to be refused), the
    error says how to make room, and a rerun after room is made copies exactly what is missing.
    In peer mode the source only says "Error in the network protocol": the worker asks the
    destination itself with one instance, and the jobs after it are not started."""
    monkeypatch.setattr(peer, "PEER_JOB_SIZE", 8)
    destination = full_destination(orthanc_factory)
    items = seed(source, many(2, 10))
    workers = 4
    with pytest.raises(ReplicationFailed) as raised:
        replicate(hook(source, max_parallel=workers), hook(destination, max_parallel=workers), mode=mode)
    summary = raised.value.summary
    assert summary.needs_operator and summary.copied == 0
    # at most one round of uploads (a thread per copy slot of both servers), or of push jobs
    tried = 2 * workers if mode == "rest" else peer.PEER_JOB_SIZE * peer.PEER_CONCURRENT_JOBS
    assert 1 <= summary.failed <= tried and summary.failed + summary.not_attempted == len(items), summary.line()
    message = str(raised.value)
    assert "The file storage is full" in message and "cannot store more" in message
    assert "MaximumStorageSize" in message and "rerun" in message
    assert not instance_ids(destination) & {i.orthanc_id for i in items}

    free_space(destination)
    again = replicate(source.url_with_credentials, destination.url_with_credentials)
    assert again.copied == len(items) and again.already_present == 0 and not again.incomplete
    assert instance_ids(destination) == {i.orthanc_id for i in items}
    assert instance_bytes(destination, items[-1].orthanc_id) == items[-1].to_bytes()


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
