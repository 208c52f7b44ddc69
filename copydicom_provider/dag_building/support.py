"""What the project's DAGs share: task defaults, the window part of the trigger form, and enumeration.

Kept in the package (not in ``dags/``) so that every DAG, and a user's own, imports one definition.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta
from typing import Any, NoReturn

from airflow.sdk import Param, Variable
from airflow.timetables.base import Timetable
from airflow.timetables.interval import CronDataIntervalTimetable, DeltaDataIntervalTimetable

from copydicom_provider import config
from copydicom_provider.compat import AirflowFailException
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.candidates import WINDOW_KINDS, Candidates, enumerate_candidates, resolve_window
from copydicom_provider.jobs.cursor import CURSOR_FORMAT, BadCursor, CursorState, advance, load_cursor, plan_cursor_run
from copydicom_provider.jobs.cursor_identity import ChangeMark
from copydicom_provider.jobs.fail_fast import MISTAKE_XCOM_KEY, batches_failure, fail_fast, mistake
from copydicom_provider.jobs.run_checks import check_run
from copydicom_provider.jobs.summary import JobSummary

#: The task's own logger: its lines show in the Airflow UI's log view (print() output does not always).
task_log = logging.getLogger("airflow.task")

#: ``summarize`` of the job DAGs: all_done (it reports failed batches), and retried only when its own
#: process died (a scheduler restart): its deliberate failures are AirflowFailException, and a
#: rerun is safe (the cursor never moves back; retry lists merge).
SUMMARIZE_TASK: dict[str, Any] = {"trigger_rule": "all_done", "retries": 2, "retry_delay": timedelta(seconds=5)}

#: Airflow Variables holding each scheduled job's position in its source's change log.
CURSOR_PREFIX = "copydicom_cursor"
#: Beyond this many unfinished instances a run leaves the cursor where it was (the window re-covers them).
MAX_RETRY = 50_000

#: Airflow pool capping concurrent tasks against clinical archives; create it once per deployment:
#: ``airflow pools set orthanc 4 "copydicom tasks against Orthanc archives"``.
ORTHANC_POOL = config.orthanc_pool()

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "radiology-it",
    "pool": ORTHANC_POOL,
    "retries": config.task_retries(),
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


_EVERY = re.compile(r"^\s*(\d+)\s*(s|m|h)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours"}


def interval_timetable(spec: str, zone: str = "UTC") -> Timetable:
    """A schedule whose runs have real data intervals: ``30s``/``5m``/``2h``, or cron (``@hourly``) read
    on the clock of ``zone`` (an IANA name).

    Plain ``schedule="@hourly"`` gives zero-length intervals in Airflow 3; backfills need real ones.
    """
    every = _EVERY.match(spec)
    if every:
        return DeltaDataIntervalTimetable(timedelta(**{_UNITS[every.group(2)]: int(every.group(1))}))
    return CronDataIntervalTimetable(spec, timezone=zone)


def airflow_time_zone() -> str:
    """Airflow's ``[core] default_timezone`` as an IANA name (``UTC`` unless the deployment sets one)."""
    from airflow import settings  # loaded by Airflow before any DAG file; its TIMEZONE is the configured one

    return str(getattr(settings.TIMEZONE, "name", "UTC") or "UTC")


#: What the form accepts in its time fields (``parse_moment`` reads all of it): a date, then optionally a time
#: to the minute or finer, then optionally ``Z`` or an offset; the form refuses anything else before a run.
MOMENT_PATTERN = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                  r"(Z|[+-][0-9]{2}:?[0-9]{2})?)?$")
#: A study date as the form takes it (``YYYY-MM-DD``, what its date picker writes).
DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def window_params(action: str) -> dict[str, Param]:
    """The trigger form's window fields; ``action`` words the dry-run switch ("copied", "sent")."""
    return {
        "window": Param("received", type="string", enum=list(WINDOW_KINDS), title="Window",
                        description="received: the run's interval or since/until; study_date: by StudyDate; "
                                    "all: everything"),
        "since": _bound(MOMENT_PATTERN, "Received since (UTC)",
                        "window=received only: overrides the interval start, e.g. 2026-11-29T10:00:00Z; must be "
                        "before 'Received until'"),
        "until": _bound(MOMENT_PATTERN, "Received until (UTC, exclusive)",
                        "window=received only. Empty: up to now for a manual run (from the start of the last "
                        "complete interval), the run's interval end for a backfill"),
        "study_date_from": _bound(DAY_PATTERN, "First study date",
                                  "window=study_date only: the first StudyDate (YYYY-MM-DD); empty: no lower bound "
                                  "(give this date, the last, or both)"),
        "study_date_to": _bound(DAY_PATTERN, "Last study date (inclusive)",
                                "window=study_date only: the last StudyDate, itself included (YYYY-MM-DD); empty: "
                                "no upper bound"),
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description=f"Count what would be {action}; change nothing"),
    }


def _bound(pattern: str, title: str, description: str) -> Param:
    """An optional bound of a window: the form's date(-time) picker, and its format refused before a run."""
    return Param(None, type=["null", "string"], format="date" if pattern == DAY_PATTERN else "date-time",
                 pattern=pattern, title=title, description=description)


def cursor_key(dag_id: str, source_conn_id: str, target: str) -> str:
    """One cursor per DAG, source and target: ``copydicom_cursor.<dag>.<source>.<target>``."""
    return f"{CURSOR_PREFIX}.{dag_id}.{source_conn_id}.{target}"


def _run_type(context: dict[str, Any] | None) -> str:
    run_type = getattr((context or {}).get("dag_run"), "run_type", None)
    return str(getattr(run_type, "value", run_type))


#: Runs that take up at the cursor: the time schedule's, and the change-log watch's (an asset event).
CURSOR_RUN_TYPES = ("scheduled", "asset_triggered")


def uses_cursor(params: dict[str, Any], context: dict[str, Any]) -> bool:
    """Scheduled and event-driven runs of the received window take up where the previous one stopped."""
    return (
        _run_type(context) in CURSOR_RUN_TYPES
        and params.get("window", "received") == "received"
        and not params.get("since")
        and not params.get("until")
    )


def read_cursor(key: str) -> CursorState | None:
    """The job's cursor, None before its first run; :class:`BadCursor` names the Variable when it holds junk."""
    return load_cursor(Variable.get(key, default=None), f"the Airflow Variable {key!r}")


def bad_cursor_gap(error: BadCursor) -> str:
    """The gap of a run whose cursor is unreadable: where the job had got to is unknown, so it reconciles."""
    return (f"{error}: where this job had got to is unknown, so nothing is skipped; this run stores a good cursor "
            f"when it finishes (to set one by hand: {CURSOR_FORMAT}, which restarts the job at its next interval)")


def window_batches(
    params: dict[str, Any],
    interval_start: datetime | None,
    interval_end: datetime | None,
    context: dict[str, Any] | None = None,
    target: str = "",
) -> list[dict[str, list[str]]]:
    """Enumerate the run's candidates on the source once; batches for the mapped tasks.

    A scheduled run of the received window reads the job's cursor (an Airflow Variable) and covers
    the source's change log from there to now, so an outage, a pause or a failed run loses
    nothing; a gap the log cannot fill is logged as an error and reconciled. Other runs (manual,
    backfill) cover their window. ``target`` names the destination in the cursor's key. The run's
    parameters are checked first (:func:`check_run`): a mistake fails the task in one sentence.
    """
    with fail_fast(ti=(context or {}).get("ti")):  # a bad window or connection fails now, not after retries
        check_run(params)
        return _enumerate(params, interval_start, interval_end, context, target)


def _enumerate(params: dict[str, Any], interval_start: datetime | None, interval_end: datetime | None,
               context: dict[str, Any] | None, target: str) -> list[dict[str, list[str]]]:
    source = OrthancHook(params["source_conn_id"]).with_role("source")
    if context is not None and uses_cursor(params, context):
        key = cursor_key(context["dag"].dag_id, params["source_conn_id"], target)
        try:
            state, broken = read_cursor(key), None
        except BadCursor as error:
            state, broken = None, bad_cursor_gap(error)
        run = plan_cursor_run(source, state, interval_start, broken)
        if run.gap:
            task_log.error("gap in what this job can read from the source's change log: %s; reconciling every "
                           "study on the source (copies only what is missing)", run.gap)
        mark = run.mark.as_dict() if run.mark else None
        context["ti"].xcom_push(key="cursor", value={"key": key, "after": run.after, "upto": run.upto, "gap": run.gap,
                                                     "mark": mark})
        return _batches(run.candidates, run.describe(), source)
    if _run_type(context) == "manual" and not params.get("until"):
        interval_end = None  # a manual run covers up to now: what arrived minutes ago is included
    window = resolve_window(params, interval_start, interval_end)
    return _batches(enumerate_candidates(source, window), window.describe(), source)


def _batches(candidates: Candidates, description: str, source: OrthancHook) -> list[dict[str, list[str]]]:
    batches = candidates.split()
    task_log.info("%s: %d studies and %d instances on %s, in %d batch(es)",
                  description, len(candidates.studies), len(candidates.instances), source.url, len(batches))
    return [batch.as_dict() for batch in batches]


def summarize_batches(summary_type: type[JobSummary], task_id: str, context: dict[str, Any]) -> dict[str, Any]:
    """Add up the mapped batches, finished or not; move the cursor; fail the run if a batch did not finish.

    Runs with ``trigger_rule="all_done"``: every batch task publishes its summary (XCom
    ``summary``) even when it fails, and a batch with none (its worker died) counts as unfinished.
    Unfinished batches go into the cursor's retry list, so the next scheduled run does them.
    """
    ti = context["ti"]
    batches = ti.xcom_pull(task_ids="enumerate")
    if batches is None:
        enumeration_failed(ti)
    total = summary_type()
    unfinished = Candidates()
    failed_batches: list[int] = []
    for index, batch in enumerate(batches):
        part = ti.xcom_pull(task_ids=task_id, key="summary", map_indexes=index)
        if part:
            piece = summary_type.from_dict(part)
            total.merge(piece)
        if not part or (piece.incomplete and not piece.dry_run):
            failed_batches.append(index)
            unfinished.studies += batch.get("studies") or []
            unfinished.instances += batch.get("instances") or []
    cursor = ti.xcom_pull(task_ids="enumerate", key="cursor")
    if cursor and not total.dry_run:
        move_cursor(cursor, unfinished)
    result = total.as_dict() | {"failed_batches": failed_batches, "gap": (cursor or {}).get("gap")}
    task_log.info("summary: %s%s", total.line(), f"; batches not finished: {failed_batches}" if failed_batches else "")
    failure = batches_failure(len(failed_batches), len(batches), total)
    if failure is not None:
        raise failure
    return result


def enumeration_failed(ti: Any) -> NoReturn:
    """The run's result when ``enumerate`` failed: which task, and why in its own sentence (else: see its log).

    Pushed as the task's result (XCom ``return_value``) and logged, then the task fails: the run failed.
    """
    reason = ti.xcom_pull(task_ids="enumerate", key=MISTAKE_XCOM_KEY)
    result = {"failed_task": "enumerate",
              "reason": reason or "the enumerate task did not finish, so nothing was done; see its log"}
    ti.xcom_push(key="return_value", value=result)
    task_log.info("summary: %s", json.dumps(result))
    if reason:
        mistake(f"enumerate failed: {reason}", ti)
    raise AirflowFailException(f"summary: {result['reason']}")


def move_cursor(cursor: dict[str, Any], unfinished: Candidates) -> None:
    """Store the cursor after a run; unfinished work goes to its retry list (or the cursor stays)."""
    try:
        current = read_cursor(cursor["key"])
    except BadCursor as error:  # edited while this run ran: this run's position replaces it
        task_log.error("%s: replaced by this run's position", error)
        current = None
    if len(unfinished.instances) + len(unfinished.studies) > MAX_RETRY:
        task_log.warning("cursor %s stays where it was: too much unfinished work to list; the next run re-covers it",
                         cursor["key"])
        return
    mark = ChangeMark.from_dict(cursor["mark"]) if cursor.get("mark") else None
    state = advance(current, cursor["after"], cursor["upto"], unfinished, mark)
    Variable.set(cursor["key"], state.as_dict(), serialize_json=True)
    task_log.info("cursor %s: change %d, %d to retry", cursor["key"], state.seq,
                  len(state.retry.instances) + len(state.retry.studies))


#: The connection the DAGs read from by default: reports and alerts link to its Orthanc Explorer.
SOURCE_CONN_ID = "orthanc_source"


def source_explorer_base() -> str | None:
    """The URL (no credentials) of the connection ``orthanc_source``, when it exists, for study links."""
    from airflow.exceptions import AirflowNotFoundException

    from copydicom_provider.explorer import without_credentials

    try:
        return without_credentials(OrthancHook(SOURCE_CONN_ID).url)
    except AirflowNotFoundException:
        return None


def splunk_search_params() -> dict[str, Param]:
    """The form's fields of a DAG that searches the tags records: the Splunk connection and the index."""
    return {
        "splunk_conn_id": Param("splunk_default", type="string", title="Splunk connection",
                                description="Airflow connection (type splunk) with search credentials"),
        "index": Param(None, type=["null", "string"], title="Splunk index",
                       description="Index holding the tags records; default: the connection's index"),
    }


def worker_table_param(title: str, what: str) -> Param:
    """A form field naming a user-edited CSV on the worker, empty for the provider's own; ``what`` makes each
    field's help its own (the UI finds a field by it)."""
    return Param(None, type=["null", "string"], title=title,
                 description=f"Path on the worker of the {what} table; default: the one shipped with the provider")


def explorer_link_param(linked: str) -> Param:
    """The form field of the Orthanc that ``linked`` (outliers, alerts) link to, as the reader reaches it."""
    return Param(None, type=["null", "string"], pattern="^https?://", title="Orthanc Explorer for links",
                 description=f"Base URL of the Orthanc the {linked} link to (their study page), as the reader "
                             f"reaches it; default: the URL of the connection {SOURCE_CONN_ID}, if any")
