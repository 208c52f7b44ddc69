"""A local SMTP server (aiosmtpd) on 127.0.0.1 that keeps every mail it is handed, for notification tests."""

from __future__ import annotations

import email
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message

#: The notification tests' recipient and sender.
ADMIN = "pacs-admin@example.org"
SENDER = "airflow@example.org"


class Inbox:
    """aiosmtpd's handler: every mail it is handed, parsed, and its envelope's recipients."""

    def __init__(self) -> None:
        self.mails: list[Message] = []
        self.recipients: list[list[str]] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        self.mails.append(email.message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def clear(self) -> None:
        self.mails.clear()
        self.recipients.clear()

    def connection_json(self) -> str:
        """An Airflow SMTP connection to this server (plain SMTP, no login), as ``AIRFLOW_CONN_*`` takes it."""
        return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": self.port,
                           "extra": {"disable_ssl": True, "disable_tls": True, "from_email": SENDER,
                                     "timeout": 10, "retry_limit": 1}})


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    """The server on a free loopback port (aiosmtpd checks its own start on the port given: not 0)."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    inbox.port = port
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def notify_variable(conn_id: str) -> str:
    """The Variable ``copydicom_notify``'s value: mail ADMIN through ``conn_id``."""
    return json.dumps({"notifier": "smtp", "conn_id": conn_id, "to": [ADMIN]})


def text_of(mail: Message) -> str:
    """Every text part of ``mail``, decoded."""
    return "\n".join(part.get_payload(decode=True).decode() for part in mail.walk() if not part.is_multipart())


def leaked(text: str, items: list, *secrets: str) -> list[str]:
    """Which of ``secrets`` and the generated instances' identifiers (patient name, ID, accession
    number, UIDs, Orthanc IDs) appear in ``text``: the notification tests want none."""
    identifying = list(secrets)
    for item in items:
        identifying += [item.patient_id, str(item.dataset.PatientName), str(item.dataset.get("AccessionNumber", "")),
                        item.study_uid, item.series_uid, item.sop_uid, item.orthanc_id, item.study_orthanc_id]
    return sorted({value for value in identifying if value and value in text})
