"""WindowedOperator: the options every job takes from its operator, and how a summary ends the task."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.exceptions import AirflowException

from copydicom_provider.compat import AirflowFailException
from copydicom_provider.jobs.summary import ReplicationSummary
from copydicom_provider.operators.replicate import ReplicateOperator
from copydicom_provider.operators.windowed import LABEL_KEY, WindowedOperator


def test_every_job_operator_templates_the_window_and_verify() -> None:
    assert ReplicateOperator.template_fields[:8] == WindowedOperator.template_fields[:8]
    assert {"window", "since", "until", "study_date_from", "study_date_to", "verify"} <= set(
        ReplicateOperator.template_fields)


def test_job_options_are_parsed_from_rendered_templates() -> None:
    operator = ReplicateOperator(task_id="copy", dry_run="True", verify="false", progress_interval=2.0)
    options = operator.job_options()
    assert (options["dry_run"], options["verify"], options["progress_interval"]) == (True, False, 2.0)
    assert options["logger"] is operator.log


def test_finish_publishes_the_summary_and_fails_by_kind() -> None:
    operator = ReplicateOperator(task_id="copy")
    context: dict[str, Any] = {}
    assert operator.finish(ReplicationSummary(copied=2), context)["copied"] == 2  # type: ignore[arg-type]
    assert context[LABEL_KEY].startswith("copied 2")
    with pytest.raises(AirflowException) as retried:
        operator.finish(ReplicationSummary(failed=1, failures=[["i", "boom"]]), {})  # type: ignore[arg-type]
    assert not isinstance(retried.value, AirflowFailException)
    with pytest.raises(AirflowFailException, match="destination full"):
        operator.finish(ReplicationSummary(not_attempted=1, stopped="destination full", needs_operator=True),
                        {})  # type: ignore[arg-type]
