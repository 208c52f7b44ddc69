"""HecClient without Airflow's BaseHook: a session, a URL, a token and the settings are all it needs."""

from __future__ import annotations

import pytest

from copydicom_provider.hooks.splunk.errors import SplunkHecError
from copydicom_provider.hooks.splunk.hec import HecClient
from copydicom_provider.hooks.splunk.settings import SplunkSettings
from tests.unit.hooks.splunk.fake_session import FakeSession, reply


def client(session: FakeSession, token: str | None = "tok", **settings) -> HecClient:
    return HecClient(lambda: session, "http://hec:8088", token, SplunkSettings(**settings))


def test_events_go_in_one_batch_with_the_token():
    session = FakeSession(reply(200, {"text": "Success", "code": 0}))
    result = client(session, index="dicom").send_events([{"n": 1}, {"n": 2}])
    assert (result.events, result.batches, result.requests) == (2, 1, 1)
    method, url, sent = session.sent[0]
    assert (method, url) == ("POST", "http://hec:8088/services/collector/event")
    assert sent["headers"]["Authorization"] == "Splunk tok"
    assert sent["data"].count(b'"index":"dicom"') == 2


def test_no_token_is_refused_before_anything_is_sent():
    session = FakeSession()
    with pytest.raises(SplunkHecError, match="has no HEC token"):
        client(session, token=None).send_events([{"n": 1}])
    assert session.sent == []


def test_envelope_defaults_come_from_the_settings():
    envelope = client(FakeSession(), sourcetype="dicom:tags", host="worker").envelope({"a": 1}, time=5)
    assert envelope == {"time": 5, "host": "worker", "sourcetype": "dicom:tags", "event": {"a": 1}}


def test_health_reports_splunks_code():
    health = client(FakeSession(reply(200, {"text": "HEC is healthy", "code": 17}))).health()
    assert health == {"status": 200, "code": 17, "text": "HEC is healthy"}
