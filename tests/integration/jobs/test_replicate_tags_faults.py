"""Replicate tags through HEC faults: real Orthanc, the Splunk test server, exactly one event per instance.

Each fault (replies after the client's timeout, connection dropped after storing, a 503 storm) is
switched on for the first batches of the run; afterwards the events the server really stored are
counted by ``copydicom_key``, the summary is checked, a rerun must send nothing, and the HEC token
must appear in no log line or exception.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.splunk import SplunkHecError, SplunkHook, SplunkSearchIncomplete
from copydicom_provider.jobs import replicate_tags as tags
from copydicom_provider.jobs.replicate_tags import KEY_FIELD, replicate_tags
from copydicom_provider.records.fetch import read_instance_records
from copydicom_provider.records.instance import InstanceRecords
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.support.fixtures_orthanc import seed

pytestmark = pytest.mark.timeout(120)

HEC_TOKEN = "9b7e21d0-hec-secret-faults"
INSTANCES = 24  # 2 patients x 1 study x 3 series x 4 instances
BATCH = 5  # events per HEC request: 5 batches, the faults hit the first ones


@pytest.fixture
def splunk() -> Iterator[SplunkTestServer]:
    with SplunkTestServer(hec_token=HEC_TOKEN) as server:
        yield server


@pytest.fixture
def archive(source) -> set[str]:
    items = seed(source, generate_studies(patients=2, studies_per_patient=1, series_per_study=3,
                                          instances_per_series=4, seed=21))
    assert len(items) == INSTANCES
    return {item.orthanc_id for item in items}


def hook_for(server: SplunkTestServer, **kwargs) -> SplunkHook:
    """Short HEC timeout and settle delay, fast backoff, small batches: several batches per run."""
    url = server.url(index="dicom", timeout=0.5, settle_delay=0.5)
    options = {"max_batch_events": BATCH, "backoff_initial": 0.02, "backoff_max": 0.2, "retry_attempts": 6,
               "settle_poll_interval": 0.1, **kwargs}
    return SplunkHook.from_url(url, **options)


def hec_posts(server: SplunkTestServer) -> int:
    return len([r for r in server.requests if r.path == "/services/collector/event"])


def run_with_fault(source, server: SplunkTestServer, archive: set[str], fault: Callable[[], None],
                   caplog, capsys, **options) -> tuple[float, str]:
    """Replicate with ``fault`` switched on; check once-each, the summary, a silent rerun and no leaked token.

    ``options`` go to the first run's ``replicate_tags`` (``verify``). Returns the run's duration and
    its log text (Airflow logs hooks to stdout, the core to ``logging``).
    """
    caplog.set_level(logging.DEBUG)
    fault()
    started = time.monotonic()
    summary = replicate_tags(source.url_with_credentials, hook_for(server), **options)
    elapsed = time.monotonic() - started

    keys = Counter(e.fields[KEY_FIELD] for e in server.events)
    assert keys == {f"{i}:instance": 1 for i in archive}, "exactly one instance event per instance"
    assert (summary.candidates, summary.sent, summary.events_sent, summary.failed) == (INSTANCES,) * 3 + (0,)

    posts = hec_posts(server)
    again = replicate_tags(source.url_with_credentials, hook_for(server))
    assert (again.already_indexed, again.sent, again.events_sent) == (INSTANCES, 0, 0)
    assert hec_posts(server) == posts and len(server.events) == INSTANCES, "the rerun sent nothing"

    captured = capsys.readouterr()
    for where, text in {"caplog": caplog.text, "stdout": captured.out, "stderr": captured.err}.items():
        assert HEC_TOKEN not in text, f"the HEC token leaked into {where}"
    return elapsed, captured.out + caplog.text


def test_late_hec_replies_leave_exactly_one_event_per_instance(source, splunk, archive, caplog, capsys):
    _, logs = run_with_fault(source, splunk, archive, lambda: splunk.answer_late(2, 1.2), caplog, capsys)
    assert logs.count("the index holds 5 of them, 0 to send again") == 2


def test_a_connection_dropped_after_storing_leaves_exactly_one_event_per_instance(
        source, splunk, archive, caplog, capsys):
    _, logs = run_with_fault(source, splunk, archive, lambda: splunk.drop_after_store(3), caplog, capsys)
    assert logs.count("the index holds 5 of them, 0 to send again") == 3


def test_a_hec_503_storm_is_ridden_out_with_backoff_in_bounded_time(source, splunk, archive, caplog, capsys):
    elapsed, logs = run_with_fault(source, splunk, archive, lambda: splunk.busy(5), caplog, capsys)
    assert logs.count("Server is busy; retry") == 5 and "the index holds" not in logs
    assert elapsed < 30


# ------------------------------------------------------------------ replies that are not Splunk's success
LOGIN_PAGE = "<html><head><title>Sign in</title></head><body><form action='/login'>...</form></body></html>"
MIMIC = '{"text":"Success","code":0}'  # Splunk's own success body, from something that stored nothing


def test_a_proxys_html_200_leaves_exactly_one_event_per_instance(source, splunk, archive, caplog, capsys):
    """The issue's case: a proxy's login page with status 200 stored nothing, and the run said "sent"."""
    _, logs = run_with_fault(source, splunk, archive, lambda: splunk.proxy_answers(2, LOGIN_PAGE), caplog, capsys)
    assert "that is not Splunk's success reply (text/html: \"<html><head><title>Sign in" in logs
    assert logs.count("the index holds 0 of them, 5 to send again") == 2


def test_a_loose_code_0_reply_leaves_exactly_one_event_per_instance(source, splunk, archive, caplog, capsys):
    fault = lambda: splunk.proxy_answers(3, '{"code":0}', "application/json")  # noqa: E731
    _, logs = run_with_fault(source, splunk, archive, fault, caplog, capsys)
    assert logs.count("the index holds 0 of them, 5 to send again") == 3


def test_a_proxy_that_always_answers_its_page_fails_the_run_not_each_instance(source, splunk, archive):
    splunk.proxy_answers(1000, LOGIN_PAGE)
    with pytest.raises(SplunkHecError, match="not Splunk's success reply") as raised:
        replicate_tags(source.url_with_credentials, hook_for(splunk))
    assert raised.value.status == 200 and splunk.events == [] and HEC_TOKEN not in str(raised.value)


def test_verify_sends_again_what_a_perfectly_mimicking_proxy_never_stored(source, splunk, archive, caplog, capsys):
    """No reply can show this one: only asking the index afterwards (``verify``) finds the 10 missing records."""
    fault = lambda: splunk.proxy_answers(2, MIMIC, "application/json")  # noqa: E731
    _, logs = run_with_fault(source, splunk, archive, fault, caplog, capsys, verify=True)
    assert "verify: the index lacks 10 of the 24 records this run sent" in logs
    assert "verify: 10 of the 10 missing records are in the index after sending them again" in logs


def test_verify_fails_what_the_index_still_lacks_and_the_rerun_sends_it_once(source, splunk, archive, caplog):
    splunk.proxy_answers(1000, MIMIC, "application/json")
    with pytest.raises(tags.TagsFailed) as raised:
        replicate_tags(source.url_with_credentials, hook_for(splunk), verify=True)
    summary = raised.value.summary
    assert (summary.sent, summary.events_sent, summary.failed) == (0, 0, INSTANCES), "honest counts"
    assert "is a proxy answering for HEC?" in str(raised.value) and splunk.events == []
    assert HEC_TOKEN not in str(raised.value) + caplog.text

    splunk.reset_faults()
    again = replicate_tags(source.url_with_credentials, hook_for(splunk), verify=True)
    assert (again.sent, again.events_sent, again.failed) == (INSTANCES, INSTANCES, 0)
    assert Counter(e.fields[KEY_FIELD] for e in splunk.events) == {f"{i}:instance": 1 for i in archive}


def test_verify_costs_one_counting_search_per_1000_records_on_a_clean_run(source, splunk, archive, monkeypatch):
    def searches() -> int:
        return len([r for r in splunk.requests if r.path.endswith("/search/jobs/export")])

    monkeypatch.setattr(tags, "DEDUPE_PAGE", 10)  # 24 records: 3 pages of the verify check
    summary = replicate_tags(source.url_with_credentials, hook_for(splunk), verify=True)
    verified = searches()
    splunk.clear()
    summary_plain = replicate_tags(source.url_with_credentials, hook_for(splunk))
    assert summary.as_dict() | {"seconds": 0, "instances_per_second": 0} == (
        summary_plain.as_dict() | {"seconds": 0, "instances_per_second": 0})
    assert verified - searches() == 3, "verify added one dc() search per page of keys, nothing else"


# ------------------------------------------------------------------ partial search results
def test_a_duplicate_check_splunk_marks_partial_sends_nothing_and_the_retry_sends_each_once(
        source, splunk, archive, caplog):
    """The issue's case: a search peer down, the check's answer partial; taking it for the truth resent
    what the down peer holds (118 of 250 indexed twice)."""
    replicate_tags(source.url_with_credentials, hook_for(splunk))
    splunk.state.events[:] = splunk.events[: INSTANCES // 2]  # the index holds half the archive
    posts = hec_posts(splunk)
    splunk.partial_peers(100)

    with pytest.raises(SplunkSearchIncomplete) as raised:
        replicate_tags(source.url_with_credentials, hook_for(splunk))

    assert 'because peer has status = "Down"' in str(raised.value) and hec_posts(splunk) == posts, "sent nothing"
    splunk.reset_faults()
    again = replicate_tags(source.url_with_credentials, hook_for(splunk))
    assert (again.already_indexed, again.sent) == (INSTANCES // 2, INSTANCES // 2)
    assert Counter(e.fields[KEY_FIELD] for e in splunk.events) == {f"{i}:instance": 1 for i in archive}



@pytest.mark.parametrize("processes", ["0", "2"], ids=["threads", "processes"])
def test_an_orthanc_that_stops_answering_fails_the_run_not_each_instance(source, splunk, archive, monkeypatch,
                                                                         processes):
    """A read timeout says nothing about the instance: the flag ``unreachable`` (not the message text) decides.

    In threads and in worker processes alike: the source stops answering once the run has listed
    its instances, every read times out, and the run fails with the source's error, sending nothing.
    """
    hook = OrthancHook.from_url(f"{source.url_with_credentials}?timeout=1")
    instance = sorted(archive)[0]
    assert isinstance(read_instance_records(hook, instance, "source"), InstanceRecords)
    missing = read_instance_records(hook, "-".join(["0" * 8] * 5), "source")
    assert isinstance(missing, OrthancError) and missing.status == 404, "a vanished instance is its own failure"

    monkeypatch.setenv("COPYDICOM_RECORD_PROCESSES", processes)
    listed = tags.instances_metadata

    def then_stop(*args, **kwargs):
        known = listed(*args, **kwargs)
        os.kill(source.process.pid, signal.SIGSTOP)  # the port stays open, nothing answers
        return known

    monkeypatch.setattr(tags, "instances_metadata", then_stop)
    try:
        with pytest.raises(OrthancError) as raised:
            replicate_tags(hook, hook_for(splunk))
    finally:
        os.kill(source.process.pid, signal.SIGCONT)
    assert raised.value.unreachable and "did not answer" in str(raised.value)
    assert "unreachable" not in str(raised.value), "the old text match would have counted it per instance"
    assert not splunk.events, "nothing is sent from a chunk whose reads failed"


def test_a_record_worker_killed_mid_run_costs_nothing(source, splunk, archive, monkeypatch, caplog):
    """A forked record worker that dies (as the kernel's OOM killer would end it): the run goes on
    with threads, every instance indexed exactly once, and the log says what happened."""
    from copydicom_provider.records import workers as record_workers

    monkeypatch.setenv("COPYDICOM_RECORD_PROCESSES", "2")
    monkeypatch.setitem(_VICTIM, "id", sorted(archive)[5])
    monkeypatch.setitem(_VICTIM, "read", record_workers._read_in_child)
    monkeypatch.setattr(record_workers, "_read_in_child", _dies_on_victim)  # the forked workers see it
    caplog.set_level(logging.WARNING)
    summary = replicate_tags(source.url_with_credentials, hook_for(splunk))
    assert (summary.sent, summary.failed) == (INSTANCES, 0)
    assert Counter(e.fields[KEY_FIELD] for e in splunk.events) == {f"{i}:instance": 1 for i in archive}
    assert "record worker process ended abruptly" in caplog.text


_VICTIM: dict = {}


def _dies_on_victim(instance_id, metadata):
    """A record worker's read that kills its own process on one instance (module level: it is pickled)."""
    if instance_id == _VICTIM["id"]:
        os.kill(os.getpid(), signal.SIGKILL)
    return _VICTIM["read"](instance_id, metadata)
