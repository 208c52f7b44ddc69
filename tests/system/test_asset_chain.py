"""Under a real scheduler: a replicate-tags run updates the tags asset, which triggers conditional-replicate
and the dose alerts (mailed to a local SMTP server, once per study).

Then conditional-replicate is triggered through the REST API with a ``conf``, as the UI's form does.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from datetime import time as clock

import pytest
import requests

from copydicom_provider.testing.airflow_services import AirflowServices
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.orthanc_server import OrthancServer
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.conftest import REPO_ROOT
from tests.support.fixtures_orthanc import connection_json, instance_ids, seed
from tests.support.smtp_server import notify_variable, smtp_server, text_of

pytestmark = pytest.mark.services
TAGS, CONDITIONAL, ALERTS = "copydicom_replicate_tags", "copydicom_conditional_replicate", "copydicom_dose_alerts"
#: AAPM's adult torso notification value, in the shipped table: a scan at or above it is mailed.
TORSO_MGY = 50.0


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    source = OrthancServer(tmp_path_factory.mktemp("chain-source"), name="source").start()
    research = OrthancServer(tmp_path_factory.mktemp("chain-research"), name="research").start()
    images = seed(
        source, generate_studies(patients=1, studies_per_patient=2, series_per_study=1, instances_per_series=3)
    )
    datasets = [make_ct_dose_sr(seed=40 + n, patient_id=f"CHAIN{n}")[0] for n in range(2)]
    today = datetime.now(timezone.utc).date()  # within the alerts' lookback: one exam above, one below the value
    high, high_truth = make_ct_dose_sr(seed=61, patient_id="CHAINHIGH", accession_number="CHAIN-HIGH",
                                       study_date=today, study_time=clock(0, 1), spiral_count=2, dose_scale=5.0)
    low, low_truth = make_ct_dose_sr(seed=62, patient_id="CHAINLOW", accession_number="CHAIN-LOW",
                                     study_date=today, study_time=clock(0, 2), spiral_count=2)
    assert max(e["ctdivol"] for e in high_truth["events"]) >= TORSO_MGY > max(e["ctdivol"] for e in low_truth["events"])
    reports = [requests.post(f"{source.url}/instances", data=to_bytes(dataset), auth=source.auth).json()["ID"]
               for dataset in (*datasets, high, low)]
    splunk = SplunkTestServer().start()
    inbox_context = smtp_server()
    inbox = inbox_context.__enter__()
    services = AirflowServices(
        tmp_path_factory.mktemp("chain-airflow"),
        REPO_ROOT / "dags",
        env_extra={
            "AIRFLOW_CONN_ORTHANC_SOURCE": connection_json(source),
            "AIRFLOW_CONN_ORTHANC_RESEARCH": connection_json(research, pseudonym_secret="chain-key-4d1f"),
            "AIRFLOW_CONN_SPLUNK_DEFAULT": splunk.connection_json(),
            "AIRFLOW_CONN_ALERTS_SMTP": inbox.connection_json(),
            "AIRFLOW_VAR_COPYDICOM_DOSE_ALERTS_NOTIFY": notify_variable("alerts_smtp"),
        },
    )
    try:
        services.start()
        services.unpause(CONDITIONAL)
        services.unpause(ALERTS)
        services.unpause(TAGS)
        yield services, source, research, images, reports, inbox
    finally:
        services.stop()
        inbox_context.__exit__(None, None, None)
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
    services, _source, research, _, reports, _inbox = world
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
    services, source, research, images, _reports, _inbox = world
    conf = {"query": "Modality=CT RecordType=instance", "dry_run": False, "anonymize": False}  # a person's choice
    run_id = trigger(services, CONDITIONAL, conf)
    assert services.wait_for_runs(CONDITIONAL, [run_id])[run_id]["state"] == "success"
    summary = services.xcom(CONDITIONAL, run_id, "copy")
    ct = {i.orthanc_id for i in images if i.modality == "CT"}
    assert summary["copied"] == len(ct) and ct <= instance_ids(research)
    log = services.task_log(CONDITIONAL, run_id, "copy")
    assert "selection:" in log and "plan:" in log and "summary:" in log
    assert source.password not in log


def test_tags_runs_trigger_the_dose_alerts_which_mail_the_exam_above_its_value_once(world):
    """Every tags run (the one at unpause, the manual one) triggers an alerts run; together they mail the exam
    above AAPM's torso value once, with its accession number and Orthanc link, and the one below it never."""
    services, source, _research, _, _reports, inbox = world
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        tags_runs = services.api("GET", f"dags/{TAGS}/dagRuns", params={"limit": 50})["dag_runs"]
        alert_runs = services.api("GET", f"dags/{ALERTS}/dagRuns", params={"limit": 50})["dag_runs"]
        settled = all(r["state"] in ("success", "failed") for r in tags_runs + alert_runs)
        if inbox.mails and settled and len(alert_runs) >= 1:
            break
        time.sleep(2)
    assert alert_runs and all(r["run_type"] == "asset_triggered" for r in alert_runs), alert_runs
    assert all(r["state"] == "success" for r in alert_runs), [(r["dag_run_id"], r["state"]) for r in alert_runs]
    time.sleep(5)  # a second mail, if any, would come within this
    subjects = [m["Subject"] for m in inbox.mails]
    assert len(subjects) == 1 and "CHAIN-HIGH" in subjects[0], subjects
    text = text_of(inbox.mails[0])
    assert f"{source.url}/app/explorer.html#study?uuid=" in text and "ct_adult_torso" in text and "AAPM" in text
    assert "CHAINHIGH" not in text and source.password not in text
