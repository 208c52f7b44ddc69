"""A failed replicate run, run by Airflow itself (dag.test), sends one mail to a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import json
import socket
from datetime import datetime, timezone
from email.message import Message as MailMessage

import pytest
from airflow.sdk import Connection
from airflow.utils.state import DagRunState

from copydicom_provider.testing.dicom_generator import generate_studies
from tests.support.fixtures_orthanc import full_destination, seed

SMTP_CONN = "copydicom_test_smtp"
ADMIN = "pacs-admin@example.org"
PLANTED_PASSWORD = "src-planted-password-4711"


class Inbox:
    """aiosmtpd's handler: every mail it is handed, parsed."""

    def __init__(self) -> None:
        self.mails: list[MailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        self.mails.append(email.message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp_server():
    """A local SMTP server on 127.0.0.1 (a free port), shared by the module's tests."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # aiosmtpd checks its own start on the port it was given: not 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def inbox(smtp_server, monkeypatch):
    """The server's inbox, emptied, with the SMTP connection and the Variable copydicom_notify set."""
    inbox, port = smtp_server
    inbox.mails.clear()
    inbox.recipients.clear()
    smtp = Connection(conn_id=SMTP_CONN, conn_type="smtp", host="127.0.0.1", port=port,
                      extra=json.dumps({"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.org",
                                        "timeout": 10, "retry_limit": 1}))
    monkeypatch.setenv(f"AIRFLOW_CONN_{SMTP_CONN.upper()}", smtp.as_json())
    monkeypatch.setenv("AIRFLOW_VAR_COPYDICOM_NOTIFY",
                       json.dumps({"notifier": "smtp", "conn_id": SMTP_CONN, "to": [ADMIN]}))
    return inbox


def body(mail: MailMessage) -> str:
    return "\n".join(part.get_payload(decode=True).decode() for part in mail.walk() if not part.is_multipart())


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
    mail, text = inbox.mails[0], body(inbox.mails[0])
    assert inbox.recipients == [[ADMIN]]
    assert "copydicom_replicate" in mail["Subject"] and dag_run.run_id in mail["Subject"]
    assert dag_run.run_id in text and "2026-05-01" in text
    assert f"candidates {len(items)}" in text and "copied 0" in text
    assert "The file storage is full" in text  # the batch's reason, from its summary
    identifying = [PLANTED_PASSWORD, items[0].patient_id, str(items[0].dataset.PatientName),
                   items[0].dataset.get("AccessionNumber", "")]
    identifying += [i.orthanc_id for i in items] + [items[0].study_orthanc_id]
    identifying += [items[0].study_uid, items[0].series_uid, items[0].sop_uid]
    assert [value for value in identifying if value and value in text + mail["Subject"]] == []


def test_no_variable_no_mail(dagbag, inbox, source, orthanc_connection, monkeypatch):
    """The Variable absent: a failed run (an unknown destination) sends nothing and still fails as before."""
    monkeypatch.delenv("AIRFLOW_VAR_COPYDICOM_NOTIFY")
    conf = {"source_conn_id": orthanc_connection("quiet_src", source), "destination_conn_id": "no_such_connection",
            "window": "all"}
    dag_run = dagbag.get_dag("copydicom_replicate").test(logical_date=datetime(2026, 5, 2, tzinfo=timezone.utc),
                                                         run_conf=conf)
    assert dag_run.state == DagRunState.FAILED
    assert inbox.mails == []
