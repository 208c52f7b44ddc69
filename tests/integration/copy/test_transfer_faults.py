"""The replicate side of the fault matrix, against real Orthanc processes.

Each test breaks something the way it breaks in a hospital (a destination killed mid-copy, a hung
source, a worker killed during a push, two runs at once, a corrected instance) and checks what
really landed on the destination against what the summary says.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests

from copydicom_provider.copy import peer
from copydicom_provider.jobs.candidates import Candidates
from copydicom_provider.jobs.replicate import ReplicationFailed, copy_candidates, replicate
from copydicom_provider.testing.dicom_generator import generate_studies, to_bytes
from tests.support.copy_faults import hook, kill_when, many, pause, restart, temporary_peers, when_holding
from tests.support.fixtures_orthanc import (
    failing_storage,
    free_space,
    full_destination,
    instance_bytes,
    instance_ids,
    seed,
    slow_ingest,
)


@pytest.mark.parametrize("mode", ["rest", "peer"])  # peer mode sends corrections through the worker
def test_a_corrected_instance_replaces_the_destinations_copy(orthanc_factory, mode):
    source = orthanc_factory("source", extra_config={"OverwriteInstances": True})
    destination = orthanc_factory("destination")  # default: does not overwrite
    items = seed(
        source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=3)
    )
    first = replicate(source.url_with_credentials, destination.url_with_credentials, since=None, until=None, mode=mode)
    assert first.copied == 3

    corrected = items[1].dataset
    corrected.PatientName = "Corrected^Name"
    corrected.PixelData = bytes(reversed(corrected.PixelData))
    reply = requests.post(f"{source.url}/instances", data=to_bytes(corrected), auth=source.auth, timeout=30).json()
    assert reply["ID"] == items[1].orthanc_id and reply["Status"] == "Success"

    from datetime import datetime, timedelta, timezone

    recent = datetime.now(timezone.utc) - timedelta(minutes=5)
    summary = replicate(source.url_with_credentials, destination.url_with_credentials, since=recent, mode=mode)
    assert summary.updated == 1 and summary.copied == 0 and summary.already_present == 2, summary.line()
    assert "updated 1" in summary.line()
    assert instance_bytes(destination, items[1].orthanc_id) == instance_bytes(source, items[1].orthanc_id)
    assert instance_ids(destination) == {i.orthanc_id for i in items}

    again = replicate(source.url_with_credentials, destination.url_with_credentials, since=recent, mode=mode)
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
