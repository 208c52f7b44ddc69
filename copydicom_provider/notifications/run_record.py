"""What a failed run did, gathered from its context and XComs: the facts a notification states.

Why two ways to read XComs: a DAG's failure callback runs in the dag-processor, which reads them
through the task SDK's channel (it has no database), while ``dag.test()`` runs it in its own
process, which has the database and no channel. Each read falls back on the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from copydicom_provider.jobs.fail_fast import MISTAKE_XCOM_KEY  # the one-sentence mistake a task published

log = logging.getLogger(__name__)

#: The task that adds the batches up; its return value carries the run's counts (and a ``reason``).
SUMMARIZE_TASK = "summarize"
#: The XCom key each job task publishes its own summary under, also when it fails.
SUMMARY_KEY = "summary"
RETURN_KEY = "return_value"


@dataclass(frozen=True)
class RunRecord:
    """One failed run: where, when, how much, and why (the reason is not scrubbed yet)."""

    dag_id: str
    run_id: str
    logical_date: datetime | None = None
    interval_start: datetime | None = None
    interval_end: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    reason: str = ""
    failed_task: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


def gather(context: dict[str, Any]) -> RunRecord:
    """The record of the run a DAG failure callback was called for."""
    dag = context.get("dag")
    dag_run = context.get("dag_run")
    dag_id = str(getattr(dag, "dag_id", None) or getattr(dag_run, "dag_id", ""))
    run_id = str(context.get("run_id") or getattr(dag_run, "run_id", ""))
    task_ids = list(getattr(dag, "task_ids", []))
    xcoms = read_xcoms(dag_id, run_id, task_ids)
    ti = context.get("ti")
    return RunRecord(
        dag_id=dag_id, run_id=run_id,
        logical_date=context.get("logical_date") or getattr(dag_run, "logical_date", None),
        interval_start=context.get("data_interval_start") or getattr(dag_run, "data_interval_start", None),
        interval_end=context.get("data_interval_end") or getattr(dag_run, "data_interval_end", None),
        counts=counts(xcoms, task_ids),
        reason=first_reason(xcoms, task_ids) or _fallback_reason(ti, context.get("reason")),
        failed_task=getattr(ti, "task_id", None),
        params=dict(context.get("params") or getattr(dag_run, "conf", None) or {}),
    )


Xcoms = dict[tuple[str, str], list[Any]]


def read_xcoms(dag_id: str, run_id: str, task_ids: list[str]) -> Xcoms:
    """(task id, key) -> the values of every map index, for the keys a notification reads."""
    try:
        return _through_sdk(dag_id, run_id, task_ids)
    except Exception as error:  # no channel to a supervisor: dag.test(), on the database
        log.debug("XComs not readable through the task SDK (%s); reading the database", error)
    try:
        return _from_database(dag_id, run_id)
    except Exception as error:
        log.warning("the failed run's XComs could not be read (%s); the notification goes without its counts", error)
        return {}


def _through_sdk(dag_id: str, run_id: str, task_ids: list[str]) -> Xcoms:
    from airflow.sdk.execution_time.xcom import XCom

    wanted = [(task_id, key) for task_id in task_ids for key in (MISTAKE_XCOM_KEY, SUMMARY_KEY)]
    wanted += [(SUMMARIZE_TASK, RETURN_KEY)] if SUMMARIZE_TASK in task_ids else []
    found: Xcoms = {}
    for task_id, key in wanted:
        values = XCom.get_all(key=key, dag_id=dag_id, task_id=task_id, run_id=run_id)
        if values:
            found[(task_id, key)] = list(values) if isinstance(values, list) else [values]
    return found


def _from_database(dag_id: str, run_id: str) -> Xcoms:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    found: Xcoms = {}
    with create_session() as session:
        rows: list[Any] = list(session.scalars(XComModel.get_many(run_id=run_id, dag_ids=dag_id)))
        for row in sorted(rows, key=lambda r: (r.task_id, r.key, r.map_index)):
            found.setdefault((row.task_id, row.key), []).append(XComModel.deserialize_value(row))
    return found


def counts(xcoms: Xcoms, task_ids: list[str]) -> dict[str, int]:
    """The run's counts: ``summarize``'s, else the job tasks' own summaries added up (summarize failed)."""
    totals = [v for v in xcoms.get((SUMMARIZE_TASK, RETURN_KEY), []) if isinstance(v, dict)]
    if not totals:
        totals = [v for task_id in task_ids for v in xcoms.get((task_id, SUMMARY_KEY), []) if isinstance(v, dict)]
    added: dict[str, int] = {}
    for summary in totals:
        for name, value in summary.items():
            if isinstance(value, int) and not isinstance(value, bool):
                added[name] = added.get(name, 0) + value
    return added


def first_reason(xcoms: Xcoms, task_ids: list[str]) -> str:
    """The first failure's reason: a task's mistake, summarize's ``reason``, then a batch's stop or failure."""
    for task_id in task_ids:
        for mistake in xcoms.get((task_id, MISTAKE_XCOM_KEY), []):
            if mistake:
                return str(mistake)
    for total in xcoms.get((SUMMARIZE_TASK, RETURN_KEY), []):
        if isinstance(total, dict) and total.get("reason"):
            return str(total["reason"])
    for task_id in task_ids:
        for summary in xcoms.get((task_id, SUMMARY_KEY), []):
            if isinstance(summary, dict) and (reason := _summary_reason(summary)):
                return reason
    return ""


def _summary_reason(summary: dict[str, Any]) -> str:
    """A batch summary's reason: why it stopped, else its first failed instance's reason (without the instance)."""
    if summary.get("stopped"):
        return str(summary["stopped"])
    for failure in summary.get("failures") or []:
        if isinstance(failure, list | tuple) and len(failure) > 1:
            return str(failure[1])
    return ""


def _fallback_reason(ti: Any, airflow_reason: Any) -> str:
    """No task said why: name the task that failed last, whose log says."""
    task_id = getattr(ti, "task_id", None)
    if task_id:
        return f"task {task_id} failed; its log says why"
    return f"the run failed ({airflow_reason or 'no reason given'})"
