"""The Variable copydicom_notify: what it may say, and the one-line mistakes it gets."""

from __future__ import annotations

import json

import pytest

from copydicom_provider.errors import ConfigurationError
from copydicom_provider.notifications.settings import NotifySettings, parse, read


def test_smtp_settings_become_smtp_notifier_arguments():
    raw = json.dumps({"notifier": "smtp", "conn_id": "smtp_pacs", "to": ["pacs-admin@example.org"],
                      "from_email": "airflow@example.org"})
    assert parse(raw) == NotifySettings("smtp", {"to": ["pacs-admin@example.org"], "smtp_conn_id": "smtp_pacs",
                                                 "from_email": "airflow@example.org"})
    assert parse({"notifier": "smtp", "to": "one@example.org"}) == NotifySettings("smtp", {"to": ["one@example.org"]})


def test_a_dotted_path_takes_its_kwargs():
    raw = {"notifier": "airflow.providers.slack.notifications.slack.SlackNotifier",
           "kwargs": {"slack_conn_id": "slack", "text": "{{ copydicom_message.text }}"}}
    settings = parse(raw)
    assert settings is not None and settings.notifier.endswith("SlackNotifier")
    assert settings.kwargs == raw["kwargs"]


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_absent_or_empty_means_no_notification(raw):
    assert parse(raw) is None


@pytest.mark.parametrize(("raw", "words"), [
    ("{not json", "is not JSON"),
    ('["smtp"]', '"notifier"'),
    ('{"notifier": "slack"}', "neither"),
    ('{"notifier": "smtp"}', '"to"'),
    ('{"notifier": "smtp", "to": ["a@example.org"], "password": "x"}', "unknown key(s) password"),
    ('{"notifier": "pkg.Notifier", "kwargs": [1]}', '"kwargs"'),
])
def test_malformed_settings_say_what_to_fix(raw, words):
    with pytest.raises(ConfigurationError, match="copydicom_notify") as error:
        parse(raw)
    assert words in str(error.value)


def test_read_takes_the_variable_from_the_environment(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_COPYDICOM_NOTIFY", raising=False)
    assert read() is None
    monkeypatch.setenv("AIRFLOW_VAR_COPYDICOM_NOTIFY", '{"notifier": "smtp", "to": ["a@example.org"]}')
    assert read() == NotifySettings("smtp", {"to": ["a@example.org"]})
