"""A failed replicate run, run by Airflow itself (dag.test), sends one mail to a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import html
from datetime import datetime, timezone

import pytest
from airflow.utils.state import DagRunState

from copydicom_provider.jobs.fail_fast import MISTAKE_XCOM_KEY
from copydicom_provider.testing.dicom_generator import generate_studies
from tests.support.fixtures_orthanc import full_destination, seed
from tests.support.smtp_server import ADMIN, leaked, notify_variable, smtp_server, text_of

SMTP_CONN = "copydicom_test_smtp"
PLANTED_PASSWORD = "src-planted-password-4711"


@pytest.fixture(scope="module")
def smtp_inbox():
    """The local SMTP server, shared by the module's tests."""
    with smtp_server() as inbox:
        yield inbox


@pytest.fixture
def inbox(smtp_inbox, monkeypatch):
    """The server's inbox, emptied, with the SMTP connection and the Variable copydicom_notify set."""
    smtp_inbox.clear()
    monkeypatch.setenv(f"AIRFLOW_CONN_{SMTP_CONN.upper()}", smtp_inbox.connection_json())
    monkeypatch.setenv("AIRFLOW_VAR_COPYDICOM_NOTIFY", notify_variable(SMTP_CONN))
    return smtp_inbox


def test_a_failed_run_sends_one_mail_with_its_facts_and_nothing_identifying(
        dagbag, inbox, orthanc_factory, orthanc_connection):
    """A full destination fails the copy at once: one mail says which DAG and run, the counts and why,
    and holds neither the source's password nor any patient's name, ID, UID or Orthanc ID."""
    source = orthanc_factory("source", password=PLANTED_PASSWORD)  # only its connection says it: never the mail
    destination = full_destination(orthanc_factory)
    items = seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                                          instances_per_series=3, seed=25))
    conf = {"source_conn_id": orthanc_connection("notify_src", source),
            "destination_conn_id": orthanc_connection("notify_dst", destination), "window": "all"}
    dag_run = dagbag.get_dag("copydicom_replicate").test(logical_date=datetime(2026, 5, 1, tzinfo=timezone.utc),
                                                         run_conf=conf)
    assert dag_run.state == DagRunState.FAILED

    assert len(inbox.mails) == 1, [m["Subject"] for m in inbox.mails]
    mail, text = inbox.mails[0], text_of(inbox.mails[0])
    assert inbox.recipients == [[ADMIN]]
    assert "copydicom_replicate" in mail["Subject"] and dag_run.run_id in mail["Subject"]
    assert dag_run.run_id in text and "2026-05-01" in text
    assert f"candidates {len(items)}" in text and "copied 0" in text
    assert "The file storage is full" in text  # the batch's reason, from its summary
    assert leaked(text + mail["Subject"], items, PLANTED_PASSWORD) == []


def test_no_variable_no_mail(dagbag, inbox, source, orthanc_connection, monkeypatch):
    """The Variable absent: a failed run (an unknown destination) sends nothing and still fails as before."""
    monkeypatch.delenv("AIRFLOW_VAR_COPYDICOM_NOTIFY")
    conf = {"source_conn_id": orthanc_connection("quiet_src", source), "destination_conn_id": "no_such_connection",
            "window": "all"}
    dag_run = dagbag.get_dag("copydicom_replicate").test(logical_date=datetime(2026, 5, 2, tzinfo=timezone.utc),
                                                         run_conf=conf)
    assert dag_run.state == DagRunState.FAILED
    assert inbox.mails == []


def test_a_mistake_is_the_mails_reason_in_its_one_sentence(dagbag, inbox, source, orthanc_connection):
    """A run that fails on a mistake (an unknown destination, refused by enumerate's checks) mails the
    sentence that enumerate published under MISTAKE_XCOM_KEY, not a generic "task failed"."""
    conf = {"source_conn_id": orthanc_connection("mistake_src", source), "destination_conn_id": "no_such_connection",
            "window": "all"}
    dag_run = dagbag.get_dag("copydicom_replicate").test(logical_date=datetime(2026, 5, 3, tzinfo=timezone.utc),
                                                         run_conf=conf)
    assert dag_run.state == DagRunState.FAILED
    enumerate_ti = dag_run.get_task_instance("enumerate")
    sentence = enumerate_ti.xcom_pull(task_ids="enumerate", key=MISTAKE_XCOM_KEY)
    assert sentence and "no_such_connection" in sentence
    assert len(inbox.mails) == 1
    assert sentence in " ".join(html.unescape(text_of(inbox.mails[0])).split())  # the body is HTML
