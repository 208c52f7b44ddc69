"""The notifier the Variable names, built and called; the message reaches it unrendered."""

from __future__ import annotations

import pytest
from airflow.sdk import BaseNotifier

from copydicom_provider.errors import ConfigurationError
from copydicom_provider.notifications.message import Message
from copydicom_provider.notifications.send import build_notifier, send
from copydicom_provider.notifications.settings import NotifySettings

SENT: list[str] = []


class Recorder(BaseNotifier):
    """A notifier that keeps what it would send, after Airflow rendered its template field."""

    template_fields = ("text",)

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def notify(self, context) -> None:
        SENT.append(self.text)


def test_any_notifier_by_class_path_renders_the_message_but_not_what_it_holds():
    SENT.clear()
    settings = NotifySettings(f"{__name__}.Recorder", {"text": "{{ copydicom_message.subject }}"})
    send(settings, Message(subject="run failed: {{ 7 * 7 }}", text="", html=""), {"run_id": "r1"})
    assert SENT == ["run failed: {{ 7 * 7 }}"]  # the reason's braces are text, not a template


def test_smtp_is_the_providers_notifier_with_the_message_as_its_subject_and_body():
    notifier = build_notifier(NotifySettings("smtp", {"to": ["a@example.org"], "smtp_conn_id": "smtp_pacs"}))
    assert type(notifier).__name__ == "SmtpNotifier" and notifier.to == ["a@example.org"]
    assert notifier.smtp_conn_id == "smtp_pacs"
    assert notifier.subject == "{{ copydicom_message.subject }}"
    assert notifier.html_content == "{{ copydicom_message.html }}"


def test_a_notifier_that_cannot_be_imported_is_named():
    with pytest.raises(ConfigurationError, match=r"no_such_module\.Notifier' cannot be imported"):
        build_notifier(NotifySettings("no_such_module.Notifier", {}))
