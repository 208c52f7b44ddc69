"""The production topology: Airflow on PostgreSQL with CeleryExecutor (Redis broker) and two workers.

A hook that keeps state in its process, a file written on a worker's disk, or a connection read
only by the scheduler goes unnoticed on SQLite with LocalExecutor; here every task runs in a Celery
worker named ``worker-a`` or ``worker-b`` (``worker_concurrency`` 2 each), against real Orthanc
servers and the Splunk-compatible test server. Skipped where Debian's postgresql/redis-server or the
Celery provider are not installed (``make test`` installs them).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from copydicom_provider.testing import postgres_server, redis_server
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.orthanc_server import OrthancServer
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.conftest import REPO_ROOT
from tests.support.fixtures_orthanc import connection_json, instance_ids, seed
from tests.system.test_asset_chain import trigger, wait_for_asset_run_that_copied
from tests.system.test_backfill import backfill_runs

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(not postgres_server.available(), reason="Debian's postgresql is not installed"),
    pytest.mark.skipif(not redis_server.available(), reason="Debian's redis-server is not installed"),
]
pytest.importorskip("airflow.providers.celery", reason="apache-airflow-providers-celery is not installed")

REPLICATE, TAGS, CONDITIONAL = "copydicom_replicate", "copydicom_replicate_tags", "copydicom_conditional_replicate"
WORKERS = ("worker-a", "worker-b")


@pytest.fixture(scope="module")
def past_hours():
    now_hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return [now_hour - timedelta(hours=h) for h in (4, 3, 2)]


@pytest.fixture(scope="module")
def orthancs(tmp_path_factory, past_hours):
    """One pair of servers per scenario, so that no scenario's data shows in another's counts."""
    servers: dict[str, OrthancServer] = {}

    def server(name: str) -> OrthancServer:
        servers[name] = OrthancServer(tmp_path_factory.mktemp(f"celery-{name}"), name=name)
        return servers[name]

    try:
        past = server("past")  # three batches received "in" three past hours (libfaketime)
        past_batches = []
        for index, hour in enumerate(past_hours):
            past.fake_time = (hour + timedelta(minutes=20)).strftime("@%Y-%m-%d %H:%M:%S")
            past.start()
            past_batches.append(seed(past, generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                                                            instances_per_series=index + 2, seed=300 + index)))
            past.stop()
        past.fake_time = None
        past.start()
        for name in ("past_copy", "bulk", "bulk_copy", "kill", "kill_copy", "source", "destination", "research"):
            server(name).start()
        # 160 one-instance studies: window=all cuts them into 8 batches of 20 studies
        seed(servers["bulk"], generate_studies(patients=8, studies_per_patient=20, series_per_study=1,
                                               instances_per_series=1, seed=310))
        # one batch (20 studies) of 1000 small instances: long enough to kill its worker half-way
        seed(servers["kill"], generate_studies(patients=2, studies_per_patient=10, series_per_study=1,
                                               instances_per_series=50, seed=320))
        seed(servers["source"], generate_studies(patients=1, studies_per_patient=2, series_per_study=1,
                                                 instances_per_series=3, seed=330))
        reports = []
        for n in range(2):
            dataset, _ = make_ct_dose_sr(seed=340 + n, patient_id=f"CELERY{n}")
            reply = requests.post(f"{servers['source'].url}/instances", data=to_bytes(dataset),
                                  auth=servers["source"].auth, timeout=60)
            reports.append(reply.json()["ID"])
        yield servers, past_batches, reports
    finally:
        for one in servers.values():
            one.stop(kill=True)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory, orthancs):
    from copydicom_provider.testing.celery_services import CeleryAirflowServices

    servers, _, _ = orthancs
    splunk = SplunkTestServer().start()
    services = CeleryAirflowServices(
        tmp_path_factory.mktemp("celery-airflow"),
        REPO_ROOT / "dags",
        workers=WORKERS,
        env_extra={
            **{f"AIRFLOW_CONN_ORTHANC_{name.upper()}": connection_json(one) for name, one in servers.items()},
            # asset-triggered copies are always de-identified: the research store holds the pseudonym key
            "AIRFLOW_CONN_ORTHANC_RESEARCH": connection_json(servers["research"], pseudonym_secret="celery-key-7e2a"),
            "AIRFLOW_CONN_SPLUNK_DEFAULT": splunk.connection_json(),
        },
    )
    try:
        services.start()
        services.unpause(CONDITIONAL)  # asset-triggered only
        services.unpause(REPLICATE)  # starts the scheduled run of the last hour; manual runs queue behind it
        wait_for_scheduled_run(services, REPLICATE)
        yield services
    finally:
        services.stop()
        splunk.stop()


def wait_for_scheduled_run(airflow, dag_id: str, timeout: float = 300) -> dict:
    """The scheduled run that unpausing creates (catchup is off: the last interval), once finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = airflow.api("GET", f"dags/{dag_id}/dagRuns", params={"run_type": "scheduled"})["dag_runs"]
        if runs and runs[0]["state"] in {"success", "failed"}:
            return runs[0]
        time.sleep(2)
    raise AssertionError(f"the scheduled run of {dag_id} did not finish within {timeout:g} s")


def copy_instances(airflow, dag_id: str, run_id: str, task_id: str = "copy") -> list[dict]:
    """The run's mapped task instances of ``task_id``, one entry per map index."""
    instances = airflow.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 200})
    return sorted(
        (ti for ti in instances["task_instances"] if ti["task_id"] == task_id), key=lambda ti: ti["map_index"]
    )


def summary_of(airflow, dag_id: str, run_id: str) -> dict:
    summary = airflow.xcom(dag_id, run_id, "summarize")
    return json.loads(summary) if isinstance(summary, str) else summary


def test_scheduled_run_keeps_its_cursor_in_a_variable(airflow, orthancs):
    """Scheduled runs read and move their cursor through the execution API, from a Celery worker."""
    servers, _, _ = orthancs
    run = wait_for_scheduled_run(airflow, REPLICATE)
    assert run["state"] == "success", run
    assert {ti["hostname"] for ti in copy_instances(airflow, REPLICATE, run["dag_run_id"])} <= set(WORKERS)
    key = f"copydicom_cursor.{REPLICATE}.orthanc_source.orthanc_destination"
    cursor = json.loads(airflow.api("GET", f"variables/{key}")["value"])
    last = requests.get(f"{servers['source'].url}/changes?last", auth=servers["source"].auth, timeout=30).json()
    assert cursor["seq"] <= last["Last"] and cursor["seq"] > 0, cursor
    assert instance_ids(servers["destination"]) == instance_ids(servers["source"])


def test_mapped_batches_spread_over_both_workers(airflow, orthancs):
    servers, _, _ = orthancs
    source, destination = servers["bulk"], servers["bulk_copy"]
    run_id = trigger(airflow, REPLICATE, {"source_conn_id": "orthanc_bulk", "destination_conn_id": "orthanc_bulk_copy",
                                          "window": "all"})
    assert airflow.wait_for_runs(REPLICATE, [run_id], timeout=300)[run_id]["state"] == "success"

    copies = copy_instances(airflow, REPLICATE, run_id)
    assert [ti["map_index"] for ti in copies] == list(range(8))  # every batch once
    assert {ti["state"] for ti in copies} == {"success"}
    assert {ti["hostname"] for ti in copies} == set(WORKERS), [(ti["map_index"], ti["hostname"]) for ti in copies]
    summary = summary_of(airflow, REPLICATE, run_id)
    assert summary["candidates"] == summary["copied"] == 160 and summary["failed"] == 0, summary
    assert summary["failed_batches"] == []
    assert instance_ids(destination) == instance_ids(source)


def test_tags_run_then_asset_triggered_conditional_copy(airflow, orthancs):
    servers, _, reports = orthancs
    airflow.unpause(TAGS)
    tags_run = trigger(airflow, TAGS, {"window": "all"})
    assert airflow.wait_for_runs(TAGS, [tags_run], timeout=300)[tags_run]["state"] == "success"
    indexed = airflow.xcom(TAGS, tags_run, "summarize")
    on_source = len(instance_ids(servers["source"]))
    # the scheduled run at unpause may have indexed some already: each record is sent once in all
    assert indexed["candidates"] == indexed["sent"] + indexed["already_indexed"] == on_source, indexed
    assert indexed["failed"] == 0, indexed
    finished = [r for r in airflow.api("GET", f"dags/{TAGS}/dagRuns", params={"limit": 50})["dag_runs"]
                if r["state"] == "success"]
    assert sum(airflow.xcom(TAGS, r["dag_run_id"], "summarize")["dose_reports"] for r in finished) == len(reports)
    assert {ti["hostname"] for ti in copy_instances(airflow, TAGS, tags_run, "index")} <= set(WORKERS)

    wait_for_asset_run_that_copied(airflow, CONDITIONAL, len(reports), timeout=300)
    landed = instance_ids(servers["research"])  # de-identified copies: new UIDs, so other Orthanc IDs
    assert len(landed) == len(reports) and not landed & set(reports)


def test_backfill_of_three_intervals(airflow, orthancs, past_hours):
    servers, past_batches, _ = orthancs
    conf = json.dumps({"source_conn_id": "orthanc_past", "destination_conn_id": "orthanc_past_copy"})
    airflow.create_backfill(REPLICATE, past_hours[0].isoformat(), past_hours[-1].isoformat(), "--dag-run-conf", conf)
    runs = backfill_runs(airflow, past_hours)
    assert [r["state"] for r in runs] == ["success"] * 3, runs
    for run, batch in zip(runs, past_batches, strict=False):
        summary = summary_of(airflow, REPLICATE, run["dag_run_id"])
        assert summary["candidates"] == summary["copied"] == len(batch), summary
    assert instance_ids(servers["past_copy"]) == {i.orthanc_id for batch in past_batches for i in batch}


def test_worker_killed_mid_batch_is_retried_on_the_other_worker(airflow, orthancs):
    servers, _, _ = orthancs
    source, destination = servers["kill"], servers["kill_copy"]
    total = len(instance_ids(source))
    run_id = trigger(airflow, REPLICATE, {"source_conn_id": "orthanc_kill", "destination_conn_id": "orthanc_kill_copy",
                                          "window": "all"})
    victim = None
    deadline = time.monotonic() + 240
    while victim is None:  # bounded: the copy starts within minutes or the test fails
        assert time.monotonic() < deadline, "the copy batch never got under way"
        running = [
            ti for ti in copy_instances(airflow, REPLICATE, run_id) if ti["state"] == "running" and ti["hostname"]
        ]
        landed = len(instance_ids(destination))
        assert landed < total, "the batch finished before its worker could be killed"
        if running and landed >= 40:
            victim = running[0]["hostname"]
        else:
            time.sleep(0.2)
    airflow.kill_worker(victim)
    survivor = next(name for name in WORKERS if name != victim)
    landed_at_kill = len(instance_ids(destination))

    try:
        run = airflow.wait_for_runs(REPLICATE, [run_id], timeout=300)[run_id]
    finally:
        airflow.start_service(victim)  # two workers again for whatever runs next (not waited for)
    assert run["state"] == "success"
    (copy,) = copy_instances(airflow, REPLICATE, run_id)
    assert copy["try_number"] == 2 and copy["hostname"] == survivor, copy
    summary = summary_of(airflow, REPLICATE, run_id)
    # the killed try's copies are found present by the retry, the rest copied once: nothing lost, nothing twice
    assert summary["candidates"] == total and summary["failed"] == 0, summary
    assert summary["already_present"] >= landed_at_kill > 0, summary
    assert summary["copied"] + summary["already_present"] == total, summary
    assert instance_ids(destination) == instance_ids(source)
    new_instances, since = [], 0
    for _ in range(100):  # bounded: pages of 1000 changes
        page = requests.get(f"{destination.url}/changes", params={"since": since, "limit": 1000},
                            auth=destination.auth, timeout=30).json()
        new_instances += [c["ID"] for c in page["Changes"] if c["ChangeType"] == "NewInstance"]
        since = page["Last"]
        if page["Done"]:
            break
    assert len(new_instances) == len(set(new_instances)) == total  # each stored once
