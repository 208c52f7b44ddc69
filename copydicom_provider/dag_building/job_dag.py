"""How every job's DAG is built: the DAG's settings, the enumeration task and the mapped job task.

Why: the replicate, replicate-tags, conditional-replicate and dose-report DAGs differ in their job,
their parameters and their schedule, not in how a DAG is put together; this module holds that
part once, so that ``dags/*.py`` stay thin and alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import DAG, BaseOperator, Param, task
from airflow.timetables.base import Timetable

from copydicom_provider.dag_building.support import DEFAULT_ARGS, window_batches
from copydicom_provider.notifications.callback import notify_failure
from copydicom_provider.operators.windowed import MAP_INDEX_LABEL

#: The first data interval of every job DAG (runs before it never existed; catchup is off).
START_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)


def job_dag(
    dag_id: str, *, description: str, schedule: Timetable | list[Any], params: dict[str, Param], doc_md: str,
    tags: list[str], **overrides: Any,
) -> DAG:
    """A job's DAG: one run at a time, no catchup, native templates, the package's task defaults.

    ``overrides`` replace any of these settings (the dose report's start date, runs and defaults).
    """
    settings: dict[str, Any] = {
        "dag_id": dag_id,
        "description": description,
        "schedule": schedule,
        "start_date": START_DATE,
        "catchup": False,  # the cursor, not catchup, covers an outage: one run does all that was missed
        "max_active_runs": 1,
        "params": params,
        "render_template_as_native_obj": True,
        "doc_md": doc_md,
        "tags": tags,
        "default_args": DEFAULT_ARGS,
        "on_failure_callback": notify_failure,  # whoever the Variable copydicom_notify names (docs/notifications.md)
    }
    return DAG(**(settings | overrides))


def from_params(*names: str) -> dict[str, str]:
    """Operator arguments rendered from the run's parameters of the same names."""
    return {name: f"{{{{ params.{name} }}}}" for name in names}


def mapped_job(operator: type[BaseOperator], task_id: str, target: Callable[[dict[str, Any]], str],
               **arguments: Any) -> Any:
    """``enumerate`` (the run's candidates, in batches) -> ``operator`` mapped over the batches.

    ``target`` names the job's destination in the cursor's key, from the run's parameters.
    """

    @task(task_id="enumerate")
    def enumerate_batches(params: dict[str, Any], data_interval_start=None, data_interval_end=None,
                          **context) -> list[dict]:
        """List the run's candidates once and cut them into batches for the mapped tasks."""
        return window_batches(params, data_interval_start, data_interval_end, context, target(params))

    return operator.partial(task_id=task_id, map_index_template=MAP_INDEX_LABEL, **arguments).expand(
        batch=enumerate_batches()  # type: ignore[call-arg]  # Airflow passes params and the interval
    )
