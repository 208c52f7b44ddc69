"""The replicate-tags cursor under Airflow's own scheduler: nothing received during an outage or a
failed run goes unindexed, and nothing is indexed twice.

``copydicom_replicate_tags`` runs every 20 s (``COPYDICOM_REPLICATE_TAGS_SCHEDULE=20s``, no retries)
against the Splunk-compatible test server. Instances arrive while the scheduler and dag-processor
are stopped across intervals, then while the index refuses every event (HEC 503: the run fails);
the runs that follow index each of them exactly once. The records are built by forked worker
processes (``COPYDICOM_RECORD_PROCESSES=2``) inside the task processes Airflow starts.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from copydicom_provider.testing.airflow_services import serving
from copydicom_provider.testing.orthanc_server import OrthancServer
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.conftest import REPO_ROOT
from tests.support.fixtures_orthanc import connection_json, seed
from tests.system.test_cursor_scheduler import batch, received_during_outage

pytestmark = pytest.mark.services
DAG_ID = "copydicom_replicate_tags"
INTERVAL = 20


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    source = OrthancServer(tmp_path_factory.mktemp("tags-cursor-source"), name="source").start()
    splunk = SplunkTestServer().start()
    yield source, splunk
    splunk.stop()
    source.stop(kill=True)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory, servers):
    source, splunk = servers
    yield from serving(
        tmp_path_factory.mktemp("tags-cursor-airflow-home"),
        REPO_ROOT / "dags",
        {
            "AIRFLOW_CONN_ORTHANC_SOURCE": connection_json(source, timeout=5),
            "AIRFLOW_CONN_SPLUNK_DEFAULT": splunk.connection_json(index="dicom"),
            "COPYDICOM_REPLICATE_TAGS_SCHEDULE": f"{INTERVAL}s",
            "COPYDICOM_RETRIES": "0",
            # records built by forked worker processes inside Airflow's task processes, as on a
            # multi-core worker with a big run (the batches here are below the automatic threshold)
            "COPYDICOM_RECORD_PROCESSES": "2",
        },
        DAG_ID,
    )


def indexed(splunk) -> Counter:
    """How many instance records each instance has in the index."""
    return Counter(str(event.indexed.get("copydicom_key", "")).removesuffix(":instance")
                   for event in splunk.events if str(event.indexed.get("copydicom_key", "")).endswith(":instance"))


def wait_indexed(splunk, expected: set[str], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not expected <= set(indexed(splunk)):
        missing = len(expected - set(indexed(splunk)))
        assert time.monotonic() < deadline, f"{missing} instance(s) never indexed"
        time.sleep(2)


def test_outage_and_failed_run_leave_nothing_unindexed_and_nothing_twice(airflow, servers):
    source, splunk = servers
    first = seed(source, batch(101))
    wait_indexed(splunk, {i.orthanc_id for i in first})

    during = received_during_outage(airflow, source, [110, 111], INTERVAL)  # two intervals without a scheduler
    wait_indexed(splunk, {i.orthanc_id for i in during})

    splunk.busy_forever()  # HEC answers 503 "server is busy" to everything: runs fail, the cursor holds
    refused = seed(source, batch(120))
    deadline = time.monotonic() + 240
    while not [r for r in airflow.api("GET", f"dags/{DAG_ID}/dagRuns", params={"limit": 200})["dag_runs"]
               if r["state"] == "failed"]:
        assert time.monotonic() < deadline, "no run failed while the index refused events"
        time.sleep(2)
    splunk.reset_faults()
    wait_indexed(splunk, {i.orthanc_id for i in refused})

    time.sleep(INTERVAL + 5)  # one more scheduled run over an index that holds everything
    counts = indexed(splunk)
    everything = {i.orthanc_id for i in first + during + refused}
    assert set(counts) == everything
    assert all(count == 1 for count in counts.values()), {k: v for k, v in counts.items() if v != 1}
