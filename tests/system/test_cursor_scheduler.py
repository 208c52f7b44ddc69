"""No interval is ever lost, under Airflow's own scheduler (api-server + scheduler + dag-processor, SQLite).

``copydicom_replicate`` runs every 20 s here (``COPYDICOM_REPLICATE_SCHEDULE=20s``) with
``catchup=False``, as deployed. The source receives instances while the scheduler is down across
several intervals, while the DAG is paused, and while the destination is away (the run fails, with
no retries here); each time, the runs that follow copy everything, once.
"""

from __future__ import annotations

import time

import pytest

from copydicom_provider.testing.airflow_services import serving
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.orthanc_server import OrthancServer
from tests.conftest import REPO_ROOT
from tests.support.fixtures_orthanc import connection_json, instance_ids, seed

pytestmark = pytest.mark.services
DAG_ID = "copydicom_replicate"
INTERVAL = 20


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    source = OrthancServer(tmp_path_factory.mktemp("cursor-source"), name="source").start()
    destination = OrthancServer(tmp_path_factory.mktemp("cursor-destination"), name="destination").start()
    yield source, destination
    source.stop(kill=True)
    destination.stop(kill=True)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory, servers):
    source, destination = servers
    yield from serving(
        tmp_path_factory.mktemp("cursor-airflow-home"),
        REPO_ROOT / "dags",
        {
            "AIRFLOW_CONN_ORTHANC_SOURCE": connection_json(source, timeout=5),
            "AIRFLOW_CONN_ORTHANC_DESTINATION": connection_json(destination, timeout=5),
            "COPYDICOM_REPLICATE_SCHEDULE": f"{INTERVAL}s",
            "COPYDICOM_RETRIES": "0",
        },
        DAG_ID,
    )


def batch(seed_value: int, instances: int = 3):
    return generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                            instances_per_series=instances, seed=seed_value)


def wait_for(destination, expected: set[str], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not expected <= instance_ids(destination):
        missing = len(expected - instance_ids(destination))
        assert time.monotonic() < deadline, f"{missing} instance(s) never reached the destination"
        time.sleep(2)


def received_during_outage(airflow, source, seeds: list[int], interval: float = INTERVAL) -> list:
    """Stop the scheduler and dag-processor, seed a batch per interval meanwhile, start them again."""
    airflow.stop_service("scheduler")  # its executor's workers go with it
    airflow.stop_service("dag-processor")
    during = []
    for value in seeds:
        during += seed(source, batch(value))
        time.sleep(interval + 2)
    airflow.start_service("dag-processor")
    airflow.start_service("scheduler")
    return during


def runs(airflow) -> list[dict]:
    return airflow.api("GET", f"dags/{DAG_ID}/dagRuns", params={"limit": 200})["dag_runs"]


def test_scheduler_outage_across_intervals_loses_nothing(airflow, servers):
    source, destination = servers
    first = seed(source, batch(1))
    wait_for(destination, {i.orthanc_id for i in first})

    during = received_during_outage(airflow, source, [10, 11, 12])  # three intervals without a scheduler
    wait_for(destination, {i.orthanc_id for i in first + during})
    assert instance_ids(destination) == {i.orthanc_id for i in first + during}


def test_paused_then_unpaused_loses_nothing(airflow, servers):
    source, destination = servers
    airflow.api("PATCH", f"dags/{DAG_ID}", json={"is_paused": True})
    time.sleep(5)  # a run already queued may still finish
    held = [*seed(source, batch(20))]
    time.sleep(INTERVAL * 2)
    held += seed(source, batch(21))
    airflow.api("PATCH", f"dags/{DAG_ID}", json={"is_paused": False})
    wait_for(destination, {i.orthanc_id for i in held})


def test_a_failed_run_is_made_good_by_the_next_one(airflow, servers):
    source, destination = servers
    destination.stop(kill=True)
    started = time.monotonic()
    lost = seed(source, batch(30))
    deadline = started + 240
    failed = []
    while not failed:  # a run that started after the seeding fails: the destination is away
        assert time.monotonic() < deadline, "no run failed while the destination was down"
        failed = [r for r in runs(airflow) if r["state"] == "failed"]
        time.sleep(2)
    summary_state = airflow.api(
        "GET", f"dags/{DAG_ID}/dagRuns/{failed[-1]['dag_run_id']}/taskInstances/summarize")["state"]
    assert summary_state == "failed"  # summarize ran after the failed batch and failed the run
    log = airflow.task_log(DAG_ID, failed[-1]["dag_run_id"], "summarize")
    assert "batches not finished" in log or "did not finish" in log

    destination.start()
    wait_for(destination, {i.orthanc_id for i in lost})
    later = [r for r in runs(airflow) if r["state"] == "success"]
    assert later, "no successful run after the destination came back"
