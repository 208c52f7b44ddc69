"""Under the real scheduler and triggerer: ``copydicom_monitor`` starts when the source logs new instances.

The time schedule is set to six hours here, so only the change-log watch can start the runs that copy
what arrives. Then the triggerer is stopped while instances arrive, and started again: its first look
fires at once, and the run takes up at the job's cursor, so nothing is lost and nothing copied twice.
"""

from __future__ import annotations

import time

import pytest

from copydicom_provider.testing.airflow_services import SERVICES, AirflowServices
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.orthanc_server import OrthancServer
from tests.conftest import REPO_ROOT
from tests.support.fixtures_orthanc import connection_json, instance_bytes, instance_ids, seed

pytestmark = pytest.mark.services
MONITOR = "copydicom_monitor"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    source = OrthancServer(tmp_path_factory.mktemp("watch-source"), name="source").start()
    destination = OrthancServer(tmp_path_factory.mktemp("watch-destination"), name="destination").start()
    services = AirflowServices(
        tmp_path_factory.mktemp("watch-airflow"), REPO_ROOT / "dags",
        env_extra={"AIRFLOW_CONN_ORTHANC_SOURCE": connection_json(source),
                   "AIRFLOW_CONN_ORTHANC_DESTINATION": connection_json(destination),
                   "COPYDICOM_MONITOR_SCHEDULE": "6h"},
        services=(*SERVICES, "triggerer"), health_parts=("metadatabase", "scheduler", "dag_processor", "triggerer"),
    )
    try:
        services.start()
        services.unpause(MONITOR)
        yield services, source, destination
    finally:
        services.stop()
        source.stop(kill=True)
        destination.stop(kill=True)


def arrivals(seed_value: int, count: int) -> list:
    return generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=count,
                            seed=seed_value)


def wait_until_held(services, destination, wanted: set[str], timeout: float = 180) -> float:
    """Seconds until the destination holds ``wanted``; fails with the services' state otherwise."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if wanted <= instance_ids(destination):
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"{len(wanted - instance_ids(destination))} instances not copied within {timeout:g} s\n"
                         f"{services.diagnosis()}")


def runs(services) -> list[dict]:
    return services.api("GET", f"dags/{MONITOR}/dagRuns", params={"limit": 100})["dag_runs"]


def test_arrivals_start_a_run_through_the_change_log_watch_and_a_triggerer_restart_loses_nothing(world):
    services, source, destination = world
    # the run the time schedule makes at unpause, and the watch's first look, find nothing to copy
    deadline = time.monotonic() + 120
    while not any(r["run_type"] == "asset_triggered" for r in runs(services)) and time.monotonic() < deadline:
        time.sleep(1)
    before = services.wait_for_runs(MONITOR, [r["dag_run_id"] for r in runs(services)])
    assert any(r["run_type"] == "asset_triggered" for r in before.values()), before
    first = {i.orthanc_id for i in seed(source, arrivals(1, 3))}
    wait_until_held(services, destination, first)
    started = [r for r in runs(services) if r["dag_run_id"] not in before]
    assert started and {r["run_type"] for r in started} == {"asset_triggered"}, started  # the watch, not the clock

    services.stop_service("triggerer")
    while_down = {i.orthanc_id for i in seed(source, arrivals(2, 2))}
    services.start_service("triggerer")
    wait_until_held(services, destination, first | while_down)

    finished = services.wait_for_runs(MONITOR, [r["dag_run_id"] for r in runs(services)])
    assert all(r["state"] == "success" for r in finished.values()), finished
    assert instance_ids(destination) == first | while_down  # each once: Orthanc IDs are the same on both sides
    for instance_id in while_down:
        assert instance_bytes(destination, instance_id) == instance_bytes(source, instance_id)
    copied = sum(services.xcom(MONITOR, run_id, "summarize")["copied"] for run_id in finished)
    assert copied == len(first | while_down)  # nothing copied twice across the runs
