"""Under a real scheduler: a replicate-tags run updates the tags asset, which triggers conditional-replicate.

Then conditional-replicate is triggered through the REST API with a ``conf``, as the UI's form does.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
import requests

from copydicom_provider.testing.airflow_services import AirflowServices
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.orthanc_server import OrthancServer
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.conftest import REPO_ROOT
from tests.support.fixtures_orthanc import connection_json, instance_ids, seed

pytestmark = pytest.mark.services
TAGS, CONDITIONAL = "copydicom_replicate_tags", "copydicom_conditional_replicate"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    source = OrthancServer(tmp_path_factory.mktemp("chain-source"), name="source").start()
    research = OrthancServer(tmp_path_factory.mktemp("chain-research"), name="research").start()
    images = seed(
        source, generate_studies(patients=1, studies_per_patient=2, series_per_study=1, instances_per_series=3)
    )
    reports = []
    for n in range(2):
        dataset, _ = make_ct_dose_sr(seed=40 + n, patient_id=f"CHAIN{n}")
        reports.append(requests.post(f"{source.url}/instances", data=to_bytes(dataset), auth=source.auth).json()["ID"])
    splunk = SplunkTestServer().start()
    services = AirflowServices(
        tmp_path_factory.mktemp("chain-airflow"),
        REPO_ROOT / "dags",
        env_extra={
            "AIRFLOW_CONN_ORTHANC_SOURCE": connection_json(source),
            "AIRFLOW_CONN_ORTHANC_RESEARCH": connection_json(research, pseudonym_secret="chain-key-4d1f"),
            "AIRFLOW_CONN_SPLUNK_DEFAULT": splunk.connection_json(),
        },
    )
    try:
        services.start()
        services.unpause(CONDITIONAL)
        services.unpause(TAGS)
        yield services, source, research, images, reports
    finally:
        services.stop()
        splunk.stop()
        source.stop(kill=True)
        research.stop(kill=True)


def trigger(services, dag_id, conf):
    run_id = f"test__{dag_id}__{time.time_ns()}"
    services.api("POST", f"dags/{dag_id}/dagRuns", json={
        "dag_run_id": run_id, "logical_date": datetime.now(timezone.utc).isoformat(), "conf": conf,
    })
    return run_id


def wait_for_asset_run_that_copied(services, dag_id, count, timeout=240):
    """An asset-triggered run that copied ``count`` instances (the scheduled tags run at unpause,
    which indexes an empty interval, triggers an earlier one that copies nothing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = services.api("GET", f"dags/{dag_id}/dagRuns", params={"limit": 50})["dag_runs"]
        for run in (r for r in runs if r["run_type"] == "asset_triggered"):
            assert run["state"] != "failed", run
            if run["state"] == "success" and services.xcom(dag_id, run["dag_run_id"], "copy")["copied"] == count:
                return run
        time.sleep(2)
    raise AssertionError(f"no asset-triggered run of {dag_id} copied {count} instances within {timeout} s")


def test_tags_run_triggers_conditional_replicate_of_the_dose_reports(world):
    services, _source, research, _, reports = world
    tags_run = trigger(services, TAGS, {"window": "all"})
    finished = services.wait_for_runs(TAGS, [tags_run])[tags_run]
    assert finished["state"] == "success"
    # The scheduled run made at unpause takes up at its interval's start, up to now, so it may have
    # indexed the seeded reports before this manual run: together they indexed each report once.
    runs = services.api("GET", f"dags/{TAGS}/dagRuns", params={"limit": 50})["dag_runs"]
    done = services.wait_for_runs(TAGS, [r["dag_run_id"] for r in runs])
    summaries = [services.xcom(TAGS, run_id, "summarize") for run_id, r in done.items() if r["state"] == "success"]
    assert sum(s["dose_reports"] for s in summaries) == len(reports), summaries
    assert all(s["failed"] == 0 for s in summaries), summaries

    run = wait_for_asset_run_that_copied(services, CONDITIONAL, len(reports))
    log = services.task_log(CONDITIONAL, run["dag_run_id"], "copy")
    assert "only what Splunk indexed" in log and "could not read" not in log  # incremental, from the asset's history
    landed = instance_ids(research)  # the default query selects the dose records only, de-identified
    assert len(landed) == len(reports) and not landed & set(reports)


def test_rest_trigger_with_conf_as_the_form_sends_it(world):
    services, source, research, images, _reports = world
    conf = {"query": "Modality=CT RecordType=instance", "dry_run": False, "anonymize": False}  # a person's choice
    run_id = trigger(services, CONDITIONAL, conf)
    assert services.wait_for_runs(CONDITIONAL, [run_id])[run_id]["state"] == "success"
    summary = services.xcom(CONDITIONAL, run_id, "copy")
    ct = {i.orthanc_id for i in images if i.modality == "CT"}
    assert summary["copied"] == len(ct) and ct <= instance_ids(research)
    log = services.task_log(CONDITIONAL, run_id, "copy")
    assert "selection:" in log and "plan:" in log and "summary:" in log
    assert source.password not in log
