"""copydicom_replicate under Airflow's own scheduler: backfills of past hourly intervals.

The source Orthanc receives three batches "in the past": it runs under libfaketime with its clock
set inside three consecutive hours, so its change log dates each batch in its own interval. Then
api-server, scheduler and dag-processor (SQLite, LocalExecutor) run a backfill created through the
CLI, and a second one through the REST API, as an operator would.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from copydicom_provider.testing.airflow_services import serving
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.orthanc_server import OrthancServer
from tests.conftest import REPO_ROOT
from tests.support.fixtures_orthanc import connection_json, instance_bytes, instance_ids, seed

pytestmark = pytest.mark.services
DAG_ID = "copydicom_replicate"


@pytest.fixture(scope="module")
def past_hours():
    now_hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return [now_hour - timedelta(hours=h) for h in (4, 3, 2)]


@pytest.fixture(scope="module")
def servers(tmp_path_factory, past_hours):
    source = OrthancServer(tmp_path_factory.mktemp("bf-source"), name="source")
    batches = []
    for index, hour in enumerate(past_hours):
        source.fake_time = (hour + timedelta(minutes=20)).strftime("@%Y-%m-%d %H:%M:%S")
        source.start()
        batches.append(seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=2,
                                                     instances_per_series=index + 2, seed=100 + index)))
        source.stop()  # graceful: the next start reads the same index
    source.fake_time = None
    source.start()
    destination = OrthancServer(tmp_path_factory.mktemp("bf-destination"), name="destination").start()
    yield source, destination, batches
    source.stop(kill=True)
    destination.stop(kill=True)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory, servers):
    source, destination, _ = servers
    yield from serving(
        tmp_path_factory.mktemp("airflow-home"),
        REPO_ROOT / "dags",
        {
            "AIRFLOW_CONN_ORTHANC_SOURCE": connection_json(source),
            "AIRFLOW_CONN_ORTHANC_DESTINATION": connection_json(destination),
        },
        DAG_ID,
    )


def backfill_runs(airflow, hours, timeout=300):
    """Wait for the backfill runs of these logical dates; returns them in date order."""
    import time

    wanted = {hour.isoformat().replace("+00:00", "Z") for hour in hours}
    deadline = time.monotonic() + timeout
    while True:
        runs = airflow.api("GET", f"dags/{DAG_ID}/dagRuns", params={"limit": 100, "run_type": "backfill"})["dag_runs"]
        mine = [r for r in runs if r["logical_date"] in wanted and r["run_type"] == "backfill"]
        latest = {}
        for run in sorted(mine, key=lambda r: r["run_after"]):
            latest[run["logical_date"]] = run
        if len(latest) == len(wanted) and all(r["state"] in {"success", "failed"} for r in latest.values()):
            return [latest[k] for k in sorted(latest)]
        states = [(r["logical_date"], r["state"]) for r in mine]
        assert time.monotonic() < deadline, f"backfill runs not done: {states}\n{airflow.diagnosis()}"
        time.sleep(2)


def test_cli_backfill_copies_each_interval_exactly(airflow, servers, past_hours):
    source, destination, batches = servers
    first, last = past_hours[0], past_hours[-1]
    airflow.create_backfill(DAG_ID, first.isoformat(), last.isoformat())
    runs = backfill_runs(airflow, past_hours)
    assert [r["state"] for r in runs] == ["success"] * 3, runs
    for run, hour, batch in zip(runs, past_hours, batches, strict=False):
        assert run["data_interval_start"].startswith(hour.strftime("%Y-%m-%dT%H:00:00"))
        summary = airflow.xcom(DAG_ID, run["dag_run_id"], "summarize")
        summary = json.loads(summary) if isinstance(summary, str) else summary
        assert summary["candidates"] == summary["copied"] == len(batch), (hour, summary)
    expected = {i.orthanc_id for batch in batches for i in batch}
    assert instance_ids(destination) == expected
    for batch in batches:
        assert instance_bytes(destination, batch[0].orthanc_id) == instance_bytes(source, batch[0].orthanc_id)

    instances = airflow.api("GET", f"dags/{DAG_ID}/dagRuns/{runs[0]['dag_run_id']}/taskInstances")["task_instances"]
    assert {ti["pool"] for ti in instances} == {"orthanc"}  # the pool that caps load on the archives

    log = airflow.task_log(DAG_ID, runs[0]["dag_run_id"], "copy", map_index=0)
    assert "plan:" in log and "progress: copied" in log and "summary:" in log
    assert source.password not in log


def test_rest_api_backfill_reprocessing_copies_nothing_twice(airflow, servers, past_hours):
    _, destination, batches = servers
    before = instance_ids(destination)
    assert before  # the CLI backfill ran first
    airflow.wait_backfills_completed(DAG_ID)
    with airflow.only_api_server():  # reprocessing rewrites runs: no scheduler writing to SQLite meanwhile
        airflow.create_backfill(DAG_ID, past_hours[0].isoformat(), past_hours[-1].isoformat(),
                                "reprocess_behavior", "completed", "max_active_runs", 2, via="api")
    airflow.wait_backfills_completed(DAG_ID, timeout=300)  # the runs were re-run, not merely still there from before
    runs = backfill_runs(airflow, past_hours)
    assert [r["state"] for r in runs] == ["success"] * 3
    for run, batch in zip(runs, batches, strict=False):
        summary = airflow.xcom(DAG_ID, run["dag_run_id"], "summarize")
        summary = json.loads(summary) if isinstance(summary, str) else summary
        assert summary["copied"] == 0 and summary["already_present"] == len(batch)
    assert instance_ids(destination) == before
