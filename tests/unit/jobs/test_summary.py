"""jobs.summary: job summaries (counts, merging, wording) and the progress line."""

from __future__ import annotations

import logging

import pytest

from copydicom_provider.jobs.summary import (
    MAX_REPORTED_FAILURES,
    JobSummary,
    Progress,
    ReplicationSummary,
    TagsSummary,
)


def failing(count: int, cls: type[JobSummary] = JobSummary, prefix: str = "i") -> JobSummary:
    summary = cls()
    for n in range(count):
        summary.record_failure(f"{prefix}{n}", "timeout")
    return summary


def test_failures_are_counted_but_only_the_first_are_listed():
    summary = failing(MAX_REPORTED_FAILURES + 3)
    assert summary.failed == 13 and len(summary.failures) == MAX_REPORTED_FAILURES
    assert summary.failures[0] == ["i0", "timeout"]
    assert summary.incomplete
    assert summary.failure_text().endswith("i9: timeout (and 3 more)")
    assert failing(1).failure_text() == "1 instance(s) failed: i0: timeout"


def test_merge_adds_counts_and_keeps_the_failure_cap():
    one, other = failing(8), failing(5, prefix="j")
    one.seconds, other.seconds, other.vanished, other.dry_run = 1.25, 2.0004, 2, True
    assert one.merge(other) is one
    assert (one.failed, one.vanished, one.seconds, one.dry_run) == (13, 2, 3.25, True)
    assert [f[0] for f in one.failures] == [*(f"i{n}" for n in range(8)), "j0", "j1"]


def test_a_plain_summary_is_complete_and_has_no_line_of_its_own():
    summary = JobSummary()
    assert not summary.incomplete and not summary.needs_operator_first()
    assert summary.label() == "0 failed"
    with pytest.raises(NotImplementedError):
        summary.line()


def test_rate_is_of_what_was_done():
    summary = ReplicationSummary(copied=30, failed=5, seconds=4.0)
    assert summary.instances_per_second == 7.5
    assert ReplicationSummary(copied=30).instances_per_second == 0.0
    assert TagsSummary(sent=10, seconds=3.0).instances_per_second == 3.3


def test_as_dict_and_back():
    summary = ReplicationSummary(copied=3, seconds=1.23456, withheld_reasons={"burned-in": 1}, mode="dicom")
    data = summary.as_dict()
    assert data["seconds"] == 1.235 and data["instances_per_second"] == 2.4 and data["copied"] == 3
    back = ReplicationSummary.from_dict({**data, "unknown": 1})
    assert back == ReplicationSummary(copied=3, seconds=1.235, withheld_reasons={"burned-in": 1}, mode="dicom")


def test_replication_is_incomplete_when_something_was_not_attempted():
    assert ReplicationSummary(not_attempted=1).incomplete
    assert ReplicationSummary(failed=1).incomplete
    assert not ReplicationSummary(copied=5, already_present=2).incomplete


def test_replication_merge():
    one = ReplicationSummary(candidates=4, copied=2, bytes=10, withheld=1, withheld_reasons={"burned-in": 1},
                             stopped="source stopped answering")
    other = ReplicationSummary(mode="dicom", candidates=3, copied=1, bytes=5, withheld=2,
                               withheld_reasons={"burned-in": 1, "secondary capture": 1},
                               stopped="destination full", needs_operator=True)
    one.merge(other)
    assert (one.candidates, one.copied, one.bytes, one.withheld, one.mode) == (7, 3, 15, 3, "dicom")
    assert one.withheld_reasons == {"burned-in": 2, "secondary capture": 1}
    assert (one.stopped, one.needs_operator, one.needs_operator_first()) == ("destination full", True, True)


def test_a_replication_summary_takes_in_a_plain_summary_adding_only_the_counts_it_carries():
    total = ReplicationSummary(candidates=4, copied=2, failed=1, mode="peer")
    total.merge(failing(2))
    assert (total.candidates, total.copied, total.failed, total.mode) == (4, 2, 3, "peer")


def test_a_stop_reason_is_kept_from_the_first_that_has_one():
    one = ReplicationSummary()
    one.merge(ReplicationSummary(stopped="timeout")).merge(ReplicationSummary(stopped="other"))
    assert one.stopped == "timeout" and not one.needs_operator


def test_record_withheld_counts_by_reason():
    summary = ReplicationSummary()
    for reason in ("burned-in", "burned-in", "secondary capture"):
        summary.record_withheld(reason)
    assert (summary.withheld, summary.withheld_reasons) == (3, {"burned-in": 2, "secondary capture": 1})


def test_replication_line_and_label():
    summary = ReplicationSummary(candidates=10, copied=6, updated=1, already_present=2, failed=1, not_attempted=1,
                                 vanished=1, verified=6, withheld=2, withheld_reasons={"b": 1, "a": 1},
                                 bytes=2_500_000, seconds=2.0, mode="dicom")
    assert summary.line() == (
        "copied 6, updated 1, 2 already present, 1 failed, 1 not attempted, 1 no longer on the source, "
        "6 verified by MD5, 2 withheld from de-identification (1 a; 1 b) of 10 candidates "
        "(2.5 MB in 2.0 s, 3.0 instances/s, mode dicom)")
    assert summary.label() == "copied 6, 2 present, 1 updated, 2 withheld, 2 NOT copied"


def test_replication_dry_run_line_and_label():
    summary = ReplicationSummary(dry_run=True, candidates=5, to_copy=3, to_update=1, already_present=1)
    assert summary.line() == ("would copy 3 and update 1, 1 already present, 0 failed of 5 candidates "
                              "(0.0 MB in 0.0 s, 0.0 instances/s, mode rest)")
    assert summary.label() == "would copy 3, 1 present"


def test_replication_failure_text():
    summary = failing(2, ReplicationSummary)
    summary.not_attempted = 3
    assert summary.failure_text() == (
        "2 instance(s) failed: i0: timeout; i1: timeout; 3 instance(s) not attempted after a server stopped "
        "answering; a rerun copies what is still missing")
    assert ReplicationSummary(not_attempted=1).failure_text().startswith("1 instance(s) not attempted")
    summary.stopped, summary.needs_operator = "destination disk full: free space first", True
    assert summary.failure_text() == "destination disk full: free space first (2 failed, 3 not attempted)"


def test_tags_line_and_label():
    summary = TagsSummary(candidates=9, already_indexed=3, sent=5, failed=1, dose_reports=2, irradiation_events=7,
                          events_sent=14, seconds=2.0, vanished=1)
    assert summary.line() == (
        "sent 5 instances, 3 already indexed, 1 failed (2 dose reports, 7 irradiation events, 14 events) "
        "of 9 candidates in 2.0 s (2.5 instances/s), 1 no longer on the source")
    assert summary.label() == "sent 5, 3 indexed, 1 failed"
    dry = TagsSummary(dry_run=True, to_send=4)
    assert dry.label() == "would send 4, 0 indexed"
    assert dry.line().startswith("would send 4 instances, 0 already indexed, 0 failed")


def test_tags_merge_adds_its_own_counts():
    one = TagsSummary(sent=2, events_sent=3, dose_reports=1)
    one.merge(TagsSummary(sent=1, events_sent=4, irradiation_events=2))
    assert (one.sent, one.events_sent, one.dose_reports, one.irradiation_events) == (3, 7, 1, 2)


@pytest.fixture
def progress() -> Progress:
    return Progress(10, label="copied", interval=3600, logger=logging.getLogger("test.progress"))


def test_progress_status_counts_done_failed_and_skipped(progress):
    progress.advance(4, size=2_000_000)
    progress.advance(0, failed=1)
    progress.advance(0, skipped=1)
    assert (progress.done, progress.failed, progress.skipped, progress.bytes) == (4, 1, 1, 2_000_000)
    assert progress.status(progress.started + 2.0) == (
        "progress: copied 4/10 (40%), failed 1, not attempted 1, 2.0 instances/s, 1.0 MB/s, ETA 1 s")


def test_progress_says_done_when_everything_was_handled_and_never_100_percent_with_failures(progress):
    progress.advance(9, failed=1)
    assert progress.status(progress.started + 5.0).startswith("progress: copied 9/10 (90%), failed 1")
    assert progress.status(progress.started + 5.0).endswith("ETA done")


def test_progress_with_nothing_handled_and_with_no_total():
    idle = Progress(5, interval=3600)
    assert idle.status(idle.started + 1.0).endswith("ETA unknown")
    assert Progress(0).status().startswith("progress: copied 0/0 (100%)")


def test_progress_logs_at_its_interval_and_on_close(caplog):
    logger = logging.getLogger("test.progress")
    caplog.set_level(logging.INFO, logger="test.progress")
    quiet = Progress(3, interval=3600, logger=logger)
    quiet.advance()
    assert caplog.records == []
    quiet.close()
    assert [r.getMessage()[:25] for r in caplog.records] == ["progress: copied 1/3 (33%"]
    caplog.clear()
    chatty = Progress(3, label="sent", interval=0, logger=logger)
    chatty.advance()
    chatty.advance()
    assert [r.getMessage()[:22] for r in caplog.records] == ["progress: sent 1/3 (33", "progress: sent 2/3 (67"]
    caplog.clear()
    Progress(0, interval=0, logger=logger).close()
    assert caplog.records == []
