"""The replicate core against two real Orthanc servers: what lands, byte for byte, and what does not."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timezone

import pytest
import requests

from copydicom_provider.core import ReplicationFailed, Window, replicate
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.testing.dicom_generator import generate_studies
from tests.support.fixtures_orthanc import instance_bytes, instance_ids, seed, slow_ingest


def small(seed_value=0, **kwargs):
    params = {
        "patients": 2,
        "studies_per_patient": 2,
        "series_per_study": 2,
        "instances_per_series": 3,
        "seed": seed_value,
    }
    params.update(kwargs)
    return generate_studies(**params)


def assert_same_bytes(source, destination, ids):
    for instance_id in ids:
        assert instance_bytes(destination, instance_id) == instance_bytes(source, instance_id)


@pytest.mark.parametrize("mode", ["rest", "peer"])
def test_full_copy_is_byte_identical_and_a_rerun_copies_nothing(source, destination, mode):
    items = seed(source, small())
    summary = replicate(source.url_with_credentials, destination.url_with_credentials, mode=mode, verify=True)
    assert instance_ids(destination) == {i.orthanc_id for i in items}
    assert_same_bytes(source, destination, instance_ids(source))
    assert (summary.candidates, summary.copied, summary.already_present, summary.failed) == (24, 24, 0, 0)
    assert summary.bytes > 24 * 8000
    again = replicate(source.url_with_credentials, destination.url_with_credentials, mode=mode)
    assert (again.candidates, again.copied, again.already_present) == (24, 0, 24)
    assert instance_ids(destination) == {i.orthanc_id for i in items}


def test_partial_overlap_copies_only_the_missing(source, destination):
    items = seed(source, small())
    already = seed(destination, items[::3])  # a third of them, spread over every study
    summary = replicate(source.url_with_credentials, destination.url_with_credentials)
    assert summary.already_present == len(already) and summary.copied == len(items) - len(already)
    assert instance_ids(destination) == {i.orthanc_id for i in items}
    changes = requests.get(f"{destination.url}/changes?limit=1000", auth=destination.auth).json()["Changes"]
    new_instances = [c["ID"] for c in changes if c["ChangeType"] == "NewInstance"]
    assert len(new_instances) == len(set(new_instances)) == len(items)  # nothing was stored twice


def _next_second() -> datetime:
    now = datetime.now(timezone.utc)
    boundary = now.replace(microsecond=0).timestamp() + 1
    time.sleep(boundary - now.timestamp() + 0.05)
    return datetime.fromtimestamp(boundary, timezone.utc)


def test_received_window_copies_only_what_arrived_inside_it(source, destination):
    early = seed(source, small(seed_value=1))
    boundary = _next_second()
    late = seed(source, small(seed_value=2, patients=1))
    src, dst = source.url_with_credentials, destination.url_with_credentials

    first = replicate(src, dst, Window.received(datetime(2000, 1, 1, tzinfo=timezone.utc), boundary))
    assert first.copied == len(early) and instance_ids(destination) == {i.orthanc_id for i in early}

    second = replicate(src, dst, since=boundary)
    assert second.candidates == len(late) and second.copied == len(late)
    assert instance_ids(destination) == {i.orthanc_id for i in early + late}


def test_received_window_finds_its_start_by_binary_search(source):
    seed(source, small(seed_value=3, instances_per_series=5))
    boundary = _next_second()
    late = seed(source, small(seed_value=4, patients=1, studies_per_patient=1, series_per_study=1))
    hook = OrthancHook.from_url(source.url_with_credentials)
    calls = []
    original = hook.changes
    hook.changes = lambda **kw: calls.append(kw) or original(**kw)  # count requests, answers stay real
    from copydicom_provider.jobs.candidates import received_instances

    found = list(received_instances(hook, boundary, None))
    assert found == [i.orthanc_id for i in late]
    assert len(calls) <= 12  # ~60 change-log entries: log2 steps and one page, not a scan


def test_study_date_window_copies_only_those_studies(source, destination):
    items = seed(source, small(patients=3, start_date=date(2019, 1, 1), end_date=date(2019, 12, 31)))
    summary = replicate(
        source.url_with_credentials, destination.url_with_credentials, study_date=(date(2019, 4, 1), date(2019, 8, 31))
    )
    expected = {i.orthanc_id for i in items if date(2019, 4, 1) <= i.study_date <= date(2019, 8, 31)}
    assert 0 < len(expected) < len(items)
    assert instance_ids(destination) == expected and summary.copied == len(expected)


def test_dry_run_copies_nothing_and_counts_what_it_would(source, destination):
    items = seed(source, small())
    summary = replicate(source.url_with_credentials, destination.url_with_credentials, dry_run=True)
    assert summary.to_copy == len(items) and summary.copied == 0
    assert instance_ids(destination) == set()


def test_a_refused_instance_does_not_stop_the_others(source, destination):
    """The destination rejects one study (a Lua filter stands in for a refusing archive)."""
    items = seed(source, small())
    refused = items[0]
    script = destination.directory / "refuse.lua"
    script.write_text(
        "function ReceivedInstanceFilter(dicom, origin, info)\n"
        f"  return dicom.StudyInstanceUID ~= '{refused.study_uid}'\nend\n"
    )
    destination.stop(kill=True)
    destination.extra_config = {"LuaScripts": [str(script)]}
    destination.start()
    with pytest.raises(ReplicationFailed) as failure:
        replicate(source.url_with_credentials, destination.url_with_credentials)
    summary = failure.value.summary
    refused_ids = {i.orthanc_id for i in items if i.study_uid == refused.study_uid}
    assert summary.failed == len(refused_ids) and summary.copied == len(items) - len(refused_ids)
    assert {f[0] for f in summary.failures} <= refused_ids
    assert "failed" in str(failure.value) and refused.orthanc_id[:8] in str(failure.value)
    assert instance_ids(destination) == {i.orthanc_id for i in items} - refused_ids


def test_destination_stopped_mid_run_then_rerun_finishes_without_duplicates(source, destination):
    slow_ingest(destination)  # 320 instances take seconds: the kill lands mid-run however fast the copy
    items = seed(
        source,
        generate_studies(
            patients=4,
            studies_per_patient=2,
            series_per_study=2,
            instances_per_series=20,
            rows=256,
            columns=256,
            seed=7,
        ),
    )
    outcome: dict = {}

    def run():
        try:
            outcome["summary"] = replicate(
                source.url_with_credentials, destination.url_with_credentials + "?max_parallel=2"
            )
        except ReplicationFailed as error:
            outcome["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        count = len(requests.get(f"{destination.url}/instances", auth=destination.auth, timeout=5).json())
        if count >= 20:
            break
        time.sleep(0.01)
    destination.stop(kill=True)  # the archive goes away without warning
    worker.join(120)
    assert "error" in outcome, "the run should fail while the destination is down"
    message = str(outcome["error"])
    assert "unreachable" in message and destination.password not in message
    partial = outcome["error"].summary
    assert 0 < partial.failed and partial.copied < len(items)

    destination.start()
    survived = instance_ids(destination)
    rerun = replicate(source.url_with_credentials, destination.url_with_credentials)
    assert rerun.already_present == len(survived) and rerun.copied == len(items) - len(survived)
    assert instance_ids(destination) == {i.orthanc_id for i in items}
    assert_same_bytes(source, destination, [i.orthanc_id for i in items[::17]])


def test_peer_push_refused_by_the_destination_reports_each_instance(source, destination):
    """The source pushes, the destination's filter refuses one study: the job fails, the rest is accounted."""
    items = seed(source, small(seed_value=9))
    refused = items[-1]
    script = destination.directory / "refuse.lua"
    script.write_text(
        "function ReceivedInstanceFilter(dicom, origin, info)\n"
        f"  return dicom.StudyInstanceUID ~= '{refused.study_uid}'\nend\n"
    )
    destination.stop(kill=True)
    destination.extra_config = {"LuaScripts": [str(script)]}
    destination.start()
    try:
        summary = replicate(source.url_with_credentials, destination.url_with_credentials, mode="peer")
    except ReplicationFailed as failure:
        summary = failure.summary
        assert "push job" in str(failure)  # noqa: PT017 - the run may end either way; a failure must name the job
    landed = instance_ids(destination)
    assert summary.copied == len(landed) and summary.copied + summary.failed == len(items)
    assert refused.orthanc_id not in landed
    peers = requests.get(f"{source.url}/peers", auth=source.auth).json()
    assert peers == []  # the run-time peer was removed again


def test_many_small_studies_are_compared_in_bulk_and_only_differences_copied(source, destination):
    """Past BULK_STUDIES candidate studies, series digests settle equal series; differing ones are read."""
    from copydicom_provider.copy import plan as planning

    items = seed(source, generate_studies(patients=110, studies_per_patient=2, series_per_study=1,
                                          instances_per_series=2, rows=16, columns=16, seed=77))
    first = replicate(source.url_with_credentials, destination.url_with_credentials)
    assert first.copied == len(items) and len(items) // 2 >= planning.BULK_STUDIES
    assert instance_ids(destination) == {i.orthanc_id for i in items}

    gone = [items[0], items[8], items[9]]  # one instance of a series, and a whole study (two instances)
    for item in gone:
        requests.delete(
            f"{destination.url}/instances/{item.orthanc_id}", auth=destination.auth, timeout=10
        ).raise_for_status()
    again = replicate(source.url_with_credentials, destination.url_with_credentials)
    assert again.copied == len(gone) and again.already_present == len(items) - len(gone), again.line()
    assert instance_ids(destination) == {i.orthanc_id for i in items}
    noop = replicate(source.url_with_credentials, destination.url_with_credentials)
    assert noop.copied == 0 and noop.already_present == len(items)


def test_push_jobs_are_of_one_size_so_both_lanes_end_together():
    """Five studies of 200 on two lanes: jobs of whole studies would leave one lane pushing the fifth
    alone; a study larger than the job size goes as its instances, small studies stay whole."""
    from copydicom_provider.copy.peer import _push_jobs

    groups = [(f"study{s}", [f"s{s}i{i}" for i in range(200)]) for s in range(5)] + [("small", ["x1", "x2"])]
    jobs = list(_push_jobs(groups, 125))
    assert [len(chunk) for _, chunk in jobs] == [125] * 8 + [2]
    assert [i for _, chunk in jobs for i in chunk] == [i for _, instances in groups for i in instances]
    assert jobs[0][0] == jobs[0][1]  # a study larger than a job: its instances are the resources
    assert jobs[-1][0] == ["small"]  # a study that fits is pushed whole
