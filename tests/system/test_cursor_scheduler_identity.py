"""The source replaced, restored from a backup, or the cursor Variable edited to junk, while the DAG was paused.

Airflow's own scheduler (api-server + scheduler + dag-processor, SQLite) runs ``copydicom_replicate``
every 20 s, with the fixtures of ``test_cursor_scheduler.py`` (this module gets its own servers). Each time
the source's new change log has passed the old cursor's number before the DAG is unpaused, so "newest
change < cursor" shows nothing: the cursor's mark (the change at its Seq) must, and the run after the
unpause reconciles.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.cursor import newest_seq
from tests.support.fixtures_orthanc import seed
from tests.support.source_databases import replace_database, restore_backup, take_backup
from tests.system import test_cursor_scheduler
from tests.system.test_cursor_scheduler import INTERVAL, batch, wait_for

pytestmark = pytest.mark.services
#: the same module-scoped fixtures as test_cursor_scheduler.py: this module gets its own servers and Airflow
servers = test_cursor_scheduler.servers
airflow = test_cursor_scheduler.airflow
DAG_ID = "copydicom_replicate"
CURSOR = f"copydicom_cursor.{DAG_ID}.orthanc_source.orthanc_destination"


def pause(airflow, paused: bool) -> None:
    airflow.api("PATCH", f"dags/{DAG_ID}", json={"is_paused": paused})
    if paused:
        time.sleep(8)  # a run already started may still finish (it moves the cursor)


def cursor(airflow) -> dict:
    """The cursor Variable as stored; ``seq`` -1 before the first run stored it."""
    try:
        return json.loads(airflow.api("GET", f"variables/{CURSOR}")["value"])
    except RuntimeError as error:
        if "HTTP 404" in str(error):
            return {"seq": -1}
        raise


def synced(airflow, source, destination, seed_value: int) -> list:
    """Seed a batch and wait until it is on the destination and the cursor has moved past it."""
    items = seed(source, batch(seed_value))
    wait_for(destination, {i.orthanc_id for i in items})
    hook = OrthancHook.from_url(source.url_with_credentials)
    deadline = time.monotonic() + 120
    while cursor(airflow)["seq"] < newest_seq(hook):
        assert time.monotonic() < deadline, "the cursor never reached the source's newest change"
        time.sleep(2)
    return items


def seed_past(source, seq: int, first_seed: int) -> list:
    """Seed batches until the source's (new) change log has passed ``seq``."""
    hook = OrthancHook.from_url(source.url_with_credentials)
    seeded, value = [], first_seed
    while newest_seq(hook) <= seq + 2:
        seeded += seed(source, batch(value))
        value += 1
    return seeded


def gaps_since(airflow, started: float, timeout: float = 90) -> list[str]:
    """The ``gap`` of the successful runs that started after ``started`` (epoch seconds), once one reported one.

    Only gaps that the run's ``enumerate`` task also logged at level ERROR count.
    """
    deadline = time.monotonic() + timeout
    while not (found := _gaps_since(airflow, started)) and time.monotonic() < deadline:
        time.sleep(3)  # the run that copied may still be summing up
    return found


def _gaps_since(airflow, started: float) -> list[str]:
    runs = airflow.api("GET", f"dags/{DAG_ID}/dagRuns", params={"limit": 200})["dag_runs"]
    found = []
    for run in runs:
        begun = run.get("start_date")
        if run["state"] != "success" or not begun:
            continue
        if datetime.fromisoformat(begun.replace("Z", "+00:00")).timestamp() < started - 1:
            continue
        summary = airflow.xcom(DAG_ID, run["dag_run_id"], "summarize")
        summary = json.loads(summary) if isinstance(summary, str) else summary
        if summary.get("gap") and any(summary["gap"] in line for line in errors(airflow, run["dag_run_id"])):
            found.append(summary["gap"])
    return found


def errors(airflow, run_id: str) -> list[str]:
    """The ERROR lines of a run's ``enumerate`` task log, as the REST API serves them."""
    reply = airflow.api("GET", f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/enumerate/logs/1",
                        params={"map_index": -1, "full_content": "true"})
    return [str(line.get("event")) for line in reply.get("content") or []
            if isinstance(line, dict) and line.get("level") == "error"]


def test_a_source_replaced_while_paused_is_reconciled(airflow, servers):
    source, destination = servers
    synced(airflow, source, destination, 1)
    pause(airflow, True)
    old = cursor(airflow)
    assert old.get("mark", {}).get("seq") == old["seq"]  # the cursor knows its source

    replace_database(source)
    new = seed_past(source, old["seq"], 10)  # the new database's log passes the old cursor's number
    unpaused = time.time()
    pause(airflow, False)
    wait_for(destination, {i.orthanc_id for i in new}, timeout=150)
    assert any("replaced or restored" in gap for gap in gaps_since(airflow, unpaused))


def test_a_source_restored_from_a_backup_while_paused_is_reconciled(airflow, servers, tmp_path):
    source, destination = servers
    pause(airflow, True)
    backup = take_backup(source, tmp_path / "backup")
    pause(airflow, False)
    copied = synced(airflow, source, destination, 20)  # the cursor moves past the backup
    pause(airflow, True)

    restore_backup(source, backup)  # the source no longer has `copied`; its log goes on from the backup's
    later = seed_past(source, cursor(airflow)["seq"], 30)
    unpaused = time.time()
    pause(airflow, False)
    wait_for(destination, {i.orthanc_id for i in copied + later}, timeout=150)
    assert any("replaced or restored" in gap for gap in gaps_since(airflow, unpaused))


def test_a_junk_cursor_variable_is_named_and_nothing_is_skipped(airflow, servers):
    source, destination = servers
    synced(airflow, source, destination, 40)
    pause(airflow, True)
    airflow.api("PATCH", f"variables/{CURSOR}", json={"key": CURSOR, "value": "not a cursor {"})
    meanwhile = seed(source, batch(41))  # arrives while the cursor is junk...
    time.sleep(INTERVAL * 2 + 5)  # ...before the interval of the first run after the unpause
    unpaused = time.time()
    pause(airflow, False)
    wait_for(destination, {i.orthanc_id for i in meanwhile}, timeout=150)
    gaps = gaps_since(airflow, unpaused)
    assert any(CURSOR in gap and "it is not JSON" in gap and '{"seq": N}' in gap for gap in gaps), gaps
    repaired = cursor(airflow)  # the run stored a good cursor again
    assert repaired["seq"] >= newest_seq(OrthancHook.from_url(source.url_with_credentials)) - 3
    assert repaired["mark"]["seq"] == repaired["seq"]
