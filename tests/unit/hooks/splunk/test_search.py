"""SearchClient without Airflow's BaseHook: login once, stream the export's final rows, check indexed keys."""

from __future__ import annotations

import json

import pytest

from copydicom_provider.hooks.splunk.errors import SplunkSearchError
from copydicom_provider.hooks.splunk.search import SearchClient, index_scope
from copydicom_provider.hooks.splunk.settings import SplunkSettings
from tests.unit.hooks.splunk.fake_session import FakeSession, reply


def export(*rows: dict) -> bytes:
    return "\n".join(json.dumps(row) for row in rows).encode()


def client(session: FakeSession, **credentials) -> SearchClient:
    return SearchClient(lambda: session, "http://mgmt:8089", SplunkSettings(), **credentials)


def test_a_search_logs_in_once_and_yields_only_final_results():
    session = FakeSession(reply(200, {"sessionKey": "key-1"}),
                          reply(200, export({"preview": True, "result": {"n": "0"}}, {"result": {"n": "1"}})))
    rows = list(client(session, login="admin", password="pw").search("index=dicom"))
    assert rows == [{"n": "1"}]
    assert [url for _, url, _ in session.sent] == ["http://mgmt:8089/services/auth/login",
                                                   "http://mgmt:8089/services/search/jobs/export"]
    assert session.sent[1][2]["headers"]["Authorization"] == "Splunk key-1"
    assert "search=search+index%3Ddicom" in session.sent[1][2]["data"]


def test_a_bearer_token_needs_no_login():
    session = FakeSession(reply(200, {"entry": [{"content": {"version": "9.3"}}]}))
    assert client(session, bearer="b-1").server_info() == {"version": "9.3"}
    assert session.sent[0][2]["headers"]["Authorization"] == "Bearer b-1"


def test_no_credentials_is_a_clear_error():
    with pytest.raises(SplunkSearchError, match="neither a bearer token"):
        list(client(FakeSession()).search("index=dicom"))


def test_the_indexed_key_check_scopes_its_indexes():
    assert index_scope(None) == "index=*"
    assert index_scope(["b", "a"]) == 'index IN ("a", "b")'
    session = FakeSession(reply(200, export({"result": {"k": "x"}})))
    assert client(session, bearer="b").indexed_values("k", ["x", "y"], indexes=["dicom"]) == {"x"}
    assert "tstats+count+where+index%3D%22dicom%22+k+IN" in session.sent[0][2]["data"]
