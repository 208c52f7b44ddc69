"""fail_fast.py: which errors fail a task at once, and how a job's summary fails its task."""

from __future__ import annotations

import logging

import pytest
from airflow.exceptions import AirflowException, AirflowNotFoundException

from copydicom_provider.compat import AirflowFailException
from copydicom_provider.errors import ConfigurationError
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.splunk import SplunkHecError
from copydicom_provider.jobs.fail_fast import (
    MISTAKE_XCOM_KEY,
    batches_failure,
    fail_fast,
    job_failure,
    mistake,
    permanent_reason,
)
from copydicom_provider.jobs.summary import ReplicationSummary, TagsSummary


def test_mistakes_no_retry_fixes() -> None:
    assert permanent_reason(ConfigurationError("set X")) == "set X"
    assert permanent_reason(ValueError("bad window")) == "invalid parameters: bad window"
    assert permanent_reason(OrthancError("refused", status=401)) == "refused"
    assert permanent_reason(SplunkHecError("token refused", status=403)) == "token refused"
    assert "is not defined" in (permanent_reason(AirflowNotFoundException("The conn_id `x` isn't defined")) or "")


def test_everything_else_is_left_to_retries() -> None:
    assert permanent_reason(OrthancError("away", unreachable=True)) is None
    assert permanent_reason(OrthancError("busy", status=503)) is None
    assert permanent_reason(TypeError("a bug, not a mistake of the user")) is None
    assert permanent_reason(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")) is None


def test_fail_fast_reraises_only_mistakes() -> None:
    with pytest.raises(AirflowFailException, match="invalid parameters: bad"), fail_fast():
        raise ValueError("bad")
    with pytest.raises(OrthancError), fail_fast():
        raise OrthancError("away", unreachable=True)


def test_a_job_fails_its_task_with_retries_unless_someone_must_act() -> None:
    assert job_failure(ReplicationSummary(copied=3)) is None
    assert job_failure(ReplicationSummary(failed=1, dry_run=True)) is None
    retried = job_failure(TagsSummary(failed=1))
    assert type(retried) is AirflowException
    full = job_failure(ReplicationSummary(not_attempted=2, stopped="the destination is full", needs_operator=True))
    assert isinstance(full, AirflowFailException) and str(full).startswith("the destination is full")


def test_unfinished_batches_fail_the_run_now() -> None:
    assert batches_failure(0, 3, ReplicationSummary()) is None
    failure = batches_failure(1, 3, ReplicationSummary(failed=1, failures=[["i", "x"]]))
    assert isinstance(failure, AirflowFailException)
    assert "1 of 3 batch(es) did not finish (1 instance(s)" in str(failure)


class _RecordingTi:
    """What ``mistake`` uses of a task instance: ``xcom_push`` (a real run is tested in tests/integration/dags)."""

    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = value


def test_a_mistake_is_one_error_line_and_one_xcom_and_no_retry(caplog: pytest.LogCaptureFixture) -> None:
    ti = _RecordingTi()
    with caplog.at_level(logging.INFO, logger="airflow.task"), pytest.raises(AirflowFailException) as failed:
        mistake("since is not before until: swap them", ti)
    assert str(failed.value) == "since is not before until: swap them" and failed.value.__cause__ is None
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["since is not before until: swap them"]
    assert errors[0].exc_info is None  # the line, without a traceback
    assert ti.pushed == {MISTAKE_XCOM_KEY: "since is not before until: swap them"} and MISTAKE_XCOM_KEY == "mistake"


def test_fail_fast_sends_mistakes_through_mistake_and_leaves_bugs_their_traceback(
        caplog: pytest.LogCaptureFixture) -> None:
    ti = _RecordingTi()
    with caplog.at_level(logging.INFO, logger="airflow.task"), pytest.raises(AirflowFailException) as failed, \
            fail_fast(ti=ti):
        raise ConfigurationError("connection 'x' is of type 'splunk', not 'orthanc'")
    assert failed.value.__suppress_context__ and ti.pushed[MISTAKE_XCOM_KEY] == str(failed.value)
    ti = _RecordingTi()
    with pytest.raises(KeyError), fail_fast(ti=ti):
        raise KeyError("a bug")
    assert ti.pushed == {}
    with pytest.raises(AirflowFailException, match="no ti"), fail_fast():  # outside a task: still one line
        raise ConfigurationError("no ti")
