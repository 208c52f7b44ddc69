"""The copydicom_dose_alerts DAG run by Airflow (dag.test): dose SRs on a real Orthanc, indexed by replicate-tags
into the Splunk stand-in, mailed to a local SMTP server (aiosmtpd) once per study, and never again on a rerun."""

from __future__ import annotations

import json
from datetime import datetime, time, timezone

import pytest
import requests
from airflow.utils.state import DagRunState

from copydicom_provider.alerts.ledger import VARIABLE as SENT_VARIABLE
from copydicom_provider.alerts.thresholds import COLUMNS
from copydicom_provider.jobs.replicate_tags import replicate_tags
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.support.smtp_server import ADMIN, notify_variable, smtp_server, text_of

DAG_ID = "copydicom_dose_alerts"
INDEX = "dicom"
SMTP_CONN = "alerts_smtp"
#: A site's own table: a torso scan at or above 15 mGy is worth a mail (the generator's spirals lie in 5-20 mGy).
SITE_ROW = "site_torso,event,CTDIvol,15,mGy,,,,,,Site torso,Local physicist 2026"


@pytest.fixture
def splunk(monkeypatch):
    with SplunkTestServer() as server:
        connection = {"conn_type": "splunk", "host": "127.0.0.1", "port": server.mgmt_port,
                      "login": server.username, "password": server.password,
                      "extra": {"scheme": "http", "hec_port": server.hec_port, "hec_token": server.hec_token,
                                "index": INDEX}}
        monkeypatch.setenv("AIRFLOW_CONN_SPLUNK_DEFAULT", json.dumps(connection))
        yield server


def _forget_sent_alerts() -> None:
    from airflow.models.variable import Variable

    Variable.delete(SENT_VARIABLE)


def test_alerts_reach_the_inbox_once_per_study_with_the_accession_number_and_the_orthanc_link(
        dagbag, source, splunk, orthanc_connection, monkeypatch, tmp_path):
    today = datetime.now(timezone.utc).date()
    truths = []
    for n, seed in enumerate((41, 42, 43, 44)):
        ds, truth = make_ct_dose_sr(seed=seed, patient_id=f"ALERT{seed}", patient_name=f"Alert^Patient{seed}",
                                    accession_number=f"AL{seed}", study_date=today, study_time=time(0, n),
                                    spiral_count=2)
        requests.post(f"{source.url}/instances", data=to_bytes(ds), auth=source.auth, timeout=30).raise_for_status()
        truths.append(truth)
    assert replicate_tags(source.url_with_credentials, splunk.url(index=INDEX)).failed == 0
    alerting = {t["accession_number"]: t for t in truths if any((e["ctdivol"] or 0) >= 15 for e in t["events"][1:])}
    assert 0 < len(alerting) < 4, "the seeds must give studies on both sides of the value"

    table = tmp_path / "thresholds.csv"
    table.write_text(",".join(COLUMNS) + "\n" + SITE_ROW + "\n", encoding="utf-8")
    orthanc_connection("orthanc_source", source)  # the alerts link to the source's explorer
    _forget_sent_alerts()
    with smtp_server() as inbox:
        monkeypatch.setenv(f"AIRFLOW_CONN_{SMTP_CONN.upper()}", inbox.connection_json())
        monkeypatch.setenv("AIRFLOW_VAR_COPYDICOM_DOSE_ALERTS_NOTIFY", notify_variable(SMTP_CONN))
        dag = dagbag.get_dag(DAG_ID)
        first = dag.test(run_conf={"thresholds": str(table)})
        assert first.state == DagRunState.SUCCESS
        mails = list(inbox.mails)
        second = dagbag.get_dag(DAG_ID).test(run_conf={"thresholds": str(table)})
        assert second.state == DagRunState.SUCCESS
        assert len(inbox.mails) == len(mails), "a rerun sends nothing again"

    assert sorted(m["Subject"].split("accession ")[1].split(":")[0] for m in mails) == sorted(alerting)
    assert all(r == [ADMIN] for r in inbox.recipients)
    for mail in mails:
        accession = mail["Subject"].split("accession ")[1].split(":")[0]
        truth = alerting[accession]
        study_id = requests.post(f"{source.url}/tools/lookup", data=truth["study_instance_uid"], auth=source.auth,
                                 timeout=10).json()[0]["ID"]
        text = text_of(mail)
        assert f"{source.url}/app/explorer.html#study?uuid={study_id}" in text
        assert "Local physicist 2026" in text and "site_torso" in text
        seed = accession[2:]
        assert f"ALERT{seed}" not in text and f"Patient{seed}" not in text  # nothing else about the patient
        assert source.password not in text


def test_the_dag_runs_after_every_tags_run_and_has_a_form(dagbag):
    dag = dagbag.get_dag(DAG_ID)
    assert dag.task_ids == ["alert"]
    assert [asset.uri for asset in dag.timetable.asset_condition.objects] == ["copydicom://splunk/tags"]
    assert {"splunk_conn_id", "index", "lookback_days", "thresholds", "orthanc_url"} <= set(dag.params)
