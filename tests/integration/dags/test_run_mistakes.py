"""A mistake in a trigger's parameters, run by Airflow itself (dag.test): it fails the run in one sentence.

What the issue saw: a replicate run with ``since`` after ``until`` failed 45 s later under a 15-frame
traceback, and ``summarize`` said "see its log". Now ``enumerate`` fails on its first try with one
ERROR line, the sentence is in its XCom ``mistake``, and ``summarize`` returns it.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from airflow.utils.state import DagRunState, TaskInstanceState

from copydicom_provider.jobs.fail_fast import MISTAKE_XCOM_KEY
from tests.support.fixtures_orthanc import instance_ids

SENTENCE = ("since (2026-05-02T12:00:00+00:00) is not before until (2026-05-02T11:00:00+00:00), so the window is "
            "empty: swap them, or clear until to copy up to now")


def test_a_backwards_received_window_fails_the_run_in_one_sentence(dagbag, source, destination, orthanc_connection,
                                                                   capfd, caplog):
    conf = {"source_conn_id": orthanc_connection("mk_src", source),
            "destination_conn_id": orthanc_connection("mk_dst", destination),
            "window": "received", "since": "2026-05-02T12:00:00Z", "until": "2026-05-02T11:00:00Z"}
    dag_run = dagbag.get_dag("copydicom_replicate").test(logical_date=datetime(2026, 5, 3, tzinfo=timezone.utc),
                                                         run_conf=conf)
    assert dag_run.state == DagRunState.FAILED
    tasks = {ti.task_id: ti for ti in dag_run.get_task_instances()}
    enumerate_ti, summarize = tasks["enumerate"], tasks["summarize"]
    assert enumerate_ti.state == TaskInstanceState.FAILED and enumerate_ti.try_number == 1  # no retry
    assert enumerate_ti.xcom_pull(task_ids="enumerate", key=MISTAKE_XCOM_KEY) == SENTENCE
    assert summarize.state == TaskInstanceState.FAILED
    assert summarize.xcom_pull(task_ids="summarize") == {"failed_task": "enumerate", "reason": SENTENCE}
    ours = [record for record in caplog.records if record.levelname == "ERROR" and record.getMessage() == SENTENCE]
    assert len(ours) == 1 and not ours[0].exc_info  # one line, without a traceback
    output = capfd.readouterr()  # Airflow's runner writes its own lines there, each with its timestamp
    theirs = [datetime.fromisoformat(line.split(" ", 1)[0].replace("Z", "+00:00")).timestamp()
              for line in (output.out + output.err).splitlines() if re.match(r"\S+Z \[error\s*\]", line)]
    assert theirs and all(ours[0].created <= moment + 0.001 for moment in theirs)  # the reason is the first error
    assert instance_ids(destination) == set()


def test_a_trigger_with_a_bad_time_format_is_refused_before_any_run(dagbag):
    """What the form refuses, a trigger through the API or dag.test refuses alike: Airflow validates the params."""
    dag = dagbag.get_dag("copydicom_replicate")
    with pytest.raises(Exception, match="Invalid input for param since: 'yesterday' does not match") as refused:
        dag.test(logical_date=datetime(2026, 5, 4, tzinfo=timezone.utc), run_conf={"since": "yesterday"})
    assert "ParamValidationError" in type(refused.value).__name__
