"""TagsSummary's incomplete dose reports: counted apart from failed instances, added up, and they fail the task."""

from __future__ import annotations

from airflow.exceptions import AirflowException

from copydicom_provider.jobs.fail_fast import job_failure
from copydicom_provider.jobs.summary import TagsSummary


def test_an_incomplete_report_fails_the_task_and_is_named_in_its_reason():
    summary = TagsSummary(candidates=2, sent=1, dose_reports=2)
    assert not summary.incomplete and job_failure(summary) is None
    summary.record_incomplete("abc", "declares 9 irradiation events, holds 5")
    assert summary.incomplete and (summary.failed, summary.incomplete_reports) == (0, 1)
    failure = job_failure(summary)
    assert type(failure) is AirflowException  # retried, like a failed instance
    assert str(failure) == ("1 dose report(s) incomplete: abc: incomplete dose report: declares 9 irradiation "
                            "events, holds 5")
    summary.record_failure("def", "not DICOM")
    assert summary.failure_text().startswith("1 instance(s) failed, 1 dose report(s) incomplete: abc: ")
    assert summary.line().startswith("sent 1 instances, 0 already indexed, 1 failed, 1 incomplete dose reports (")
    assert summary.label() == "sent 1, 0 indexed, 1 failed, 1 incomplete"


def test_incomplete_reports_add_up_over_batches_and_survive_xcom():
    one, two = TagsSummary(incomplete_reports=1), TagsSummary(incomplete_reports=2, failed=1)
    merged = one.merge(two)
    assert isinstance(merged, TagsSummary) and merged.incomplete_reports == 3 and merged.incomplete
    assert TagsSummary.from_dict(merged.as_dict()).incomplete_reports == 3
    assert job_failure(TagsSummary(incomplete_reports=1, dry_run=True)) is None
