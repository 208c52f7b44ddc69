"""A failed run under Airflow's own scheduler and dag-processor (where DAG callbacks really run) mails once.

``dag.test()`` runs the failure callback in its own process; deployed, the dag-processor runs it,
reading the Variable, the connections and the XComs through the task SDK. This test is that path:
a manual replicate run onto a full destination fails, and the local SMTP server receives one mail
for it, with the run's counts and reason and none of the instances' identifiers.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from copydicom_provider.testing.airflow_services import serving
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.orthanc_server import OrthancServer
from tests.conftest import REPO_ROOT
from tests.support.fixtures_orthanc import connection_json, full_destination, seed
from tests.support.smtp_server import ADMIN, leaked, notify_variable, smtp_server, text_of

pytestmark = pytest.mark.services
DAG_ID = "copydicom_replicate"
PLANTED_PASSWORD = "sched-planted-password-2525"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    source = OrthancServer(tmp_path_factory.mktemp("notify-source"), name="source",
                           password=PLANTED_PASSWORD).start()

    def factory(name: str, **kwargs) -> OrthancServer:
        return OrthancServer(tmp_path_factory.mktemp(f"notify-{name}"), name=name, **kwargs).start()

    destination = full_destination(factory)
    yield source, destination
    source.stop(kill=True)
    destination.stop(kill=True)


def test_a_failed_scheduled_deployment_run_mails_once(tmp_path_factory, servers):
    source, destination = servers
    items = seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                                          instances_per_series=2, seed=2525))
    with smtp_server() as inbox:
        env = {"AIRFLOW_CONN_ORTHANC_SOURCE": connection_json(source, timeout=5),
               "AIRFLOW_CONN_ORTHANC_DESTINATION": connection_json(destination, timeout=5),
               "AIRFLOW_CONN_NOTIFY_SMTP": inbox.connection_json(),
               "AIRFLOW_VAR_COPYDICOM_NOTIFY": notify_variable("notify_smtp"),
               "COPYDICOM_REPLICATE_SCHEDULE": "0 0 1 1 *",  # yearly: the run under test is the manual one
               "COPYDICOM_RETRIES": "0"}
        for airflow in serving(tmp_path_factory.mktemp("notify-airflow-home"), REPO_ROOT / "dags", env, DAG_ID):
            run_id = f"notify_{int(time.time())}"
            airflow.api("POST", f"dags/{DAG_ID}/dagRuns",
                        json={"dag_run_id": run_id, "logical_date": datetime.now(timezone.utc).isoformat(),
                              "conf": {"window": "all"}})
            assert airflow.wait_for_runs(DAG_ID, [run_id])[run_id]["state"] == "failed"
            deadline = time.monotonic() + 90  # the dag-processor runs the callback after the run is marked failed
            while not [m for m in inbox.mails if run_id in m["Subject"]] and time.monotonic() < deadline:
                time.sleep(1)
            time.sleep(5)  # a second mail for the run, if any, would come within this
    mails = [m for m in inbox.mails if run_id in m["Subject"]]
    assert len(mails) == 1, [m["Subject"] for m in inbox.mails]
    text = text_of(mails[0])
    assert inbox.recipients[inbox.mails.index(mails[0])] == [ADMIN]
    assert f"<td>{run_id}</td>" in text and f"<td>{DAG_ID}</td>" in text
    assert f"candidates {len(items)}" in text and "copied 0" in text and "The file storage is full" in text
    assert leaked(text + mails[0]["Subject"], items, PLANTED_PASSWORD) == []
    subjects = [m["Subject"] for m in inbox.mails]
    assert len(subjects) == len(set(subjects)), subjects  # the yearly run, if it failed too, once as well
