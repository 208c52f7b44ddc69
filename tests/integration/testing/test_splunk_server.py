"""Wire contract: the exact requests SplunkHook sends, and the exact replies the test server gives.

The expected bytes below are copied from Splunk's documentation ("Format events for HTTP Event
Collector", "HTTP Event Collector REST API endpoints", "Troubleshoot HTTP Event Collector", the REST
API reference for ``auth/login`` and ``search/jobs/export``, the Splunk SDK for Python's guide to
search results), not from the server's own tables, so a drift on either side fails here.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
import requests

from copydicom_provider.hooks.splunk import SplunkHook
from copydicom_provider.testing.splunk import HecToken, SplunkTestServer

pytestmark = pytest.mark.timeout(60)

CHANNEL = "FE0ECFAD-13D5-401B-847D-77833BD77131"  # the channel of Splunk's ack example

#: Splunk's HEC status table: code -> (HTTP status, text).
SPLUNK_HEC_CODES = {
    0: (200, "Success"),
    1: (403, "Token disabled"),
    2: (401, "Token is required"),
    3: (401, "Invalid authorization"),
    4: (403, "Invalid token"),
    5: (400, "No data"),
    6: (400, "Invalid data format"),
    7: (400, "Incorrect index"),
    9: (503, "Server is busy"),
    10: (400, "Data channel is missing"),
    11: (400, "Invalid data channel"),
    12: (400, "Event field is required"),
    13: (400, "Event field cannot be blank"),
    14: (400, "ACK is disabled"),
}


@pytest.fixture
def splunk() -> Iterator[SplunkTestServer]:
    tokens = [
        HecToken("disabled-token", disabled=True),
        HecToken("ack-token", ack=True),
        HecToken("main-only", indexes=("main",)),
    ]
    with SplunkTestServer(hec_token="B5A79AAD-D822-46CC-80D1-819F80D7BFB0", tokens=tokens) as server:
        yield server


def post(
    server: SplunkTestServer,
    body: bytes | str,
    *,
    token: str | None = None,
    path: str = "/services/collector/event",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    all_headers = dict(headers or {})
    if token is not None:
        all_headers.setdefault("Authorization", f"Splunk {token}")
    return requests.post(f"{server.hec_url}{path}", data=body, headers=all_headers, timeout=10)


# ------------------------------------------------------------------ what the hook sends
def test_hook_sends_splunks_documented_envelope_and_headers(splunk):
    hook = SplunkHook.from_url(splunk.url(index="main"))
    envelope = hook.envelope(
        "Hello world!",
        time=1426279439,
        host="localhost",
        source="random-data-generator",
        sourcetype="my_sample_data",
        index="main",
    )

    hook.send_envelopes([envelope])

    (request,) = [r for r in splunk.requests if r.port == "hec"]
    assert (request.method, request.path, request.query) == ("POST", "/services/collector/event", "")
    assert request.headers["Authorization"] == f"Splunk {splunk.hec_token}"
    assert request.headers["Content-Type"] == "application/json"
    assert "X-Splunk-Request-Channel" not in request.headers and "Content-Encoding" not in request.headers
    # Splunk docs, "Format events for HTTP Event Collector", key for key and in that order:
    assert request.body == (
        b'{"time":1426279439,"host":"localhost","source":"random-data-generator",'
        b'"sourcetype":"my_sample_data","index":"main","event":"Hello world!"}'
    )


def test_hook_batches_are_concatenated_json_objects(splunk):
    hook = SplunkHook.from_url(splunk.url())
    hook.send_envelopes([{"event": "Pony 1 has left the barn"}, {"event": "Pony 2 has left the barn"}])
    (request,) = [r for r in splunk.requests if r.port == "hec"]
    assert request.body == b'{"event":"Pony 1 has left the barn"}{"event":"Pony 2 has left the barn"}'
    assert [e.raw for e in splunk.events] == ["Pony 1 has left the barn", "Pony 2 has left the barn"]


def test_hook_gzips_with_content_encoding(splunk):
    hook = SplunkHook.from_url(splunk.url(), gzip_min_bytes=1)
    hook.send_envelopes([{"event": "compressed"}])
    (request,) = [r for r in splunk.requests if r.port == "hec"]
    assert request.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(request.raw_body) == b'{"event":"compressed"}'


def test_hook_ack_requests_carry_the_channel_and_poll_like_splunks_example():
    with SplunkTestServer(ack=True) as server:
        hook = SplunkHook.from_url(server.url(ack="true"), ack_poll_interval=0.01)
        hook.send_envelopes([{"event": "acked"}])
        send, poll = [r for r in server.requests if r.port == "hec"][:2]
        channel = send.headers["X-Splunk-Request-Channel"]
        assert str(uuid.UUID(channel)) == channel
        assert (poll.method, poll.path, poll.query) == ("POST", "/services/collector/ack", f"channel={channel}")
        assert poll.headers["X-Splunk-Request-Channel"] == channel
        assert poll.body == b'{"acks":[0]}'


def test_hook_search_logs_in_and_posts_an_export_form(splunk):
    hook = SplunkHook.from_url(splunk.url())
    list(hook.search("index=dicom modality=CT", earliest_time=1700000000, latest_time="now"))

    login, export = [r for r in splunk.requests if r.port == "mgmt"]
    assert (login.method, login.path) == ("POST", "/services/auth/login")
    assert login.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(login.body.decode()) == {
        "username": ["admin"],
        "password": [splunk.password],
        "output_mode": ["json"],
    }
    assert "Authorization" not in login.headers
    (session_key,) = splunk.state.sessions
    assert (export.method, export.path) == ("POST", "/services/search/jobs/export")
    assert export.headers["Authorization"] == f"Splunk {session_key}"
    assert parse_qs(export.body.decode()) == {
        "search": ["search index=dicom modality=CT"],
        "output_mode": ["json"],
        "earliest_time": ["1700000000.000"],
        "latest_time": ["now"],
    }


# ------------------------------------------------------------------ what the server answers: HEC
def test_success_reply_is_splunks(splunk):
    response = post(splunk, '{"event": "Hello world!"}', token=splunk.hec_token)
    assert (response.status_code, response.content) == (200, b'{"text":"Success","code":0}')
    assert response.headers["Content-Type"].startswith("application/json")


HEC_ERROR_CASES = {
    "disabled token": (1, lambda s: post(s, '{"event":"x"}', token="disabled-token")),
    "no token": (2, lambda s: post(s, '{"event":"x"}')),
    "bad scheme": (3, lambda s: post(s, '{"event":"x"}', headers={"Authorization": f"Token {s.hec_token}"})),
    "unknown token": (4, lambda s: post(s, '{"event":"x"}', token="00000000-0000-0000-0000-000000000000")),
    "no data": (5, lambda s: post(s, "", token=s.hec_token)),
    "bad channel": (
        11,
        lambda s: post(s, '{"event":"x"}', token="ack-token", headers={"X-Splunk-Request-Channel": "nope"}),
    ),
    "missing channel": (10, lambda s: post(s, '{"event":"x"}', token="ack-token")),
    "ack disabled": (
        14,
        lambda s: post(
            s,
            '{"acks":[0]}',
            token=s.hec_token,
            path="/services/collector/ack",
            headers={"X-Splunk-Request-Channel": CHANNEL},
        ),
    ),
}


@pytest.mark.parametrize("case", HEC_ERROR_CASES, ids=list(HEC_ERROR_CASES))
def test_request_errors_use_splunks_code_table(splunk, case):
    code, send = HEC_ERROR_CASES[case]
    response = send(splunk)
    status, text = SPLUNK_HEC_CODES[code]
    assert response.status_code == status
    assert response.content == json.dumps({"text": text, "code": code}, separators=(",", ":")).encode()


BATCH_ERROR_CASES = {
    "syntax error": (6, '{"event":"a"}{"event": oops}'),
    "incorrect index": (7, '{"event":"a"}{"event":"b","index":"dicom"}'),
    "event missing": (12, '{"event":"a"}{"host":"h"}'),
    "event blank": (13, '{"event":"a"}{"event":" "}'),
    "event null": (6, '{"event":"a"}{"event":null}'),
}


@pytest.mark.parametrize("case", BATCH_ERROR_CASES, ids=list(BATCH_ERROR_CASES))
def test_batch_errors_name_the_event_and_keep_the_ones_before(splunk, case):
    code, body = BATCH_ERROR_CASES[case]
    response = post(splunk, body + '{"event":"c"}', token="main-only")
    status, text = SPLUNK_HEC_CODES[code]
    assert response.status_code == status
    assert response.json() == {"text": text, "code": code, "invalid-event-number": 1}
    assert [e.raw for e in splunk.events] == ["a"]


def test_busy_is_503_code_9(splunk):
    splunk.busy(1)
    first = post(splunk, '{"event":"x"}', token=splunk.hec_token)
    second = post(splunk, '{"event":"x"}', token=splunk.hec_token)
    assert (first.status_code, first.content) == (503, b'{"text":"Server is busy","code":9}')
    assert second.status_code == 200


def test_basic_auth_with_the_token_as_password_works(splunk):
    credential = base64.b64encode(f"x:{splunk.hec_token}".encode()).decode()
    response = post(splunk, '{"event":"basic"}', headers={"Authorization": f"Basic {credential}"})
    assert response.status_code == 200


def test_gzip_bodies_and_oversize_bodies():
    with SplunkTestServer(hec_token="tok-12345", max_content_length=100) as server:
        body = gzip.compress(b'{"event":"zipped"}')
        response = post(server, body, token="tok-12345", headers={"Content-Encoding": "gzip"})
        assert response.status_code == 200 and server.events[0].raw == "zipped"
        response = post(server, '{"event":"' + "x" * 200 + '"}', token="tok-12345")
        assert response.status_code == 413 and "too large" in response.json()["text"]


def test_health_and_unknown_paths(splunk):
    health = requests.get(f"{splunk.hec_url}/services/collector/health", timeout=10)
    assert (health.status_code, health.content) == (200, b'{"text":"HEC is healthy","code":17}')
    missing = requests.post(f"{splunk.hec_url}/services/collector/nothing", timeout=10)
    assert (missing.status_code, missing.json()) == (
        404,
        {"text": "The requested URL was not found on this server.", "code": 404},
    )


def test_ack_ids_count_per_channel_and_are_forgotten_once_true(splunk):
    other = str(uuid.uuid4())
    ids = [
        post(splunk, '{"event":"x"}', token="ack-token", headers={"X-Splunk-Request-Channel": ch}).json()
        for ch in (CHANNEL, CHANNEL, other)
    ]
    assert ids == [
        {"text": "Success", "code": 0, "ackId": 0},
        {"text": "Success", "code": 0, "ackId": 1},
        {"text": "Success", "code": 0, "ackId": 0},
    ]

    def poll(acks: list[int]) -> dict:
        response = requests.post(
            f"{splunk.hec_url}/services/collector/ack?channel={CHANNEL}",
            data=json.dumps({"acks": acks}), headers={"Authorization": "Splunk ack-token"}, timeout=10,
        )
        assert response.status_code == 200
        return response.json()

    assert poll([0, 1, 2]) == {"acks": {"0": True, "1": True, "2": False}}
    assert poll([0, 1]) == {"acks": {"0": False, "1": False}}


def test_raw_endpoint_needs_a_channel(splunk):
    assert (
        post(splunk, "line one\nline two", token=splunk.hec_token, path="/services/collector/raw").json()["code"] == 10
    )
    response = post(
        splunk, "line one\nline two", token=splunk.hec_token, path=f"/services/collector/raw?channel={CHANNEL}"
    )
    assert response.status_code == 200 and [e.raw for e in splunk.events] == ["line one", "line two"]


# ------------------------------------------------------------------ what the server answers: management
def login(server: SplunkTestServer, **form: str) -> requests.Response:
    data = {"username": server.username, "password": server.password, **form}
    return requests.post(f"{server.mgmt_url}/services/auth/login", data=data, timeout=10)


def test_login_reply_is_splunks_xml(splunk):
    response = login(splunk)
    assert response.status_code == 200
    match = re.fullmatch(
        r'<\?xml version="1.0" encoding="UTF-8"\?>\n<response>\n  <sessionKey>([^<]+)</sessionKey>\n</response>\n',
        response.text,
    )
    assert match and match.group(1) in splunk.state.sessions
    assert login(splunk, output_mode="json").json().keys() == {"sessionKey"}
    refused = login(splunk, password="wrong")
    assert (
        refused.status_code == 401
        and '<msg type="WARN" code="incorrect_username_or_password">Login failed</msg>' in refused.text
    )


def test_management_calls_need_authentication(splunk):
    response = requests.get(f"{splunk.mgmt_url}/services/server/info", params={"output_mode": "json"}, timeout=10)
    assert (response.status_code, response.json()) == (
        401,
        {"messages": [{"type": "WARN", "text": "call not properly authenticated"}]},
    )
    key = login(splunk, output_mode="json").json()["sessionKey"]
    for headers in ({"Authorization": f"Splunk {key}"}, {"Cookie": f"splunkd_{splunk.mgmt_port}={key}"}):
        info = requests.get(
            f"{splunk.mgmt_url}/servicesNS/nobody/search/server/info",
            params={"output_mode": "json"},
            headers=headers,
            timeout=10,
        )
        assert info.status_code == 200 and info.json()["entry"][0]["content"]["version"] == "9.1.2"
    basic = requests.get(f"{splunk.mgmt_url}/services/server/info", auth=(splunk.username, splunk.password), timeout=10)
    assert basic.status_code == 200 and basic.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"')


def test_server_info_atom_parses_like_splunks_sample(splunk):
    from splunklib import data

    response = requests.get(
        f"{splunk.mgmt_url}/services/server/info", auth=(splunk.username, splunk.password), timeout=10
    )
    content = data.load(response.text, "{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content/*")
    assert content["version"] == "9.1.2" and content["serverName"] == "splunk-test"


def export(server: SplunkTestServer, search: str, **form: str) -> requests.Response:
    data = {"search": search, "output_mode": "json", **form}
    return requests.post(
        f"{server.mgmt_url}/services/search/jobs/export", data=data, auth=(server.username, server.password), timeout=10
    )


def test_export_streams_json_lines_like_splunks_example(splunk):
    for second, sourcetype in ((1, "eventgen-2"), (2, "splunkd"), (3, "splunkd")):
        splunk.add_event({"n": second}, time_=second, sourcetype=sourcetype)
    response = export(splunk, "search * | stats count by sourcetype")
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert response.text.splitlines() == [  # a transforming search: preview rows first, then the final ones
        '{"preview":true,"offset":0,"result":{"sourcetype":"eventgen-2","count":"1"}}',
        '{"preview":true,"offset":1,"result":{"sourcetype":"splunkd","count":"2"}}',
        '{"preview":false,"offset":0,"result":{"sourcetype":"eventgen-2","count":"1"}}',
        '{"preview":false,"offset":1,"lastrow":true,"result":{"sourcetype":"splunkd","count":"2"}}',
    ]
    assert export(splunk, "search index=nothing").text == '{"preview":false,"lastrow":true}\n'


def test_export_event_rows_have_splunks_default_fields(splunk):
    splunk.add_event(
        {"PatientID": "P1", "series": [{"n": 1}, {"n": 2}], "ok": True}, time_=1378940272.28, host="TESTBOX"
    )
    (line,) = export(splunk, "search *").text.splitlines()
    row = json.loads(line)["result"]
    assert row["_time"] == "2013-09-11T22:57:52.280+00:00"
    assert {k: row[k] for k in ("host", "index", "linecount", "source", "sourcetype")} == {
        "host": "TESTBOX", "index": "main", "linecount": "1", "source": "test", "sourcetype": "_json"
    }
    assert (row["PatientID"], row["series{}.n"], row["ok"]) == ("P1", ["1", "2"], "true")
    assert all(isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v)) for v in row.values())


def test_search_errors_are_splunks_messages(splunk):
    response = export(splunk, "search * | eval x=1")
    assert (response.status_code, response.json()) == (
        400,
        {"messages": [{"type": "FATAL", "text": "Unknown search command 'eval'."}]},
    )
    bare = export(splunk, "index=main")  # the REST API does not add "search" for you
    assert bare.json() == {"messages": [{"type": "FATAL", "text": "Unknown search command 'index'."}]}
    xml = export(splunk, "search * | rex field=x", output_mode="xml")
    assert xml.status_code == 400 and '<msg type="FATAL">Unknown search command \'rex\'.</msg>' in xml.text


def test_jobs_create_status_and_results(splunk):
    splunk.add_event({"n": 1}, time_=1)
    auth = (splunk.username, splunk.password)
    created = requests.post(
        f"{splunk.mgmt_url}/services/search/jobs", data={"search": "search *"}, auth=auth, timeout=10
    )
    assert created.status_code == 201
    sid = re.fullmatch(
        r'<\?xml version="1.0" encoding="UTF-8"\?>\n<response>\n  <sid>([^<]+)</sid>\n</response>\n', created.text
    ).group(1)
    status = requests.get(
        f"{splunk.mgmt_url}/services/search/jobs/{sid}", params={"output_mode": "json"}, auth=auth, timeout=10
    )
    content = status.json()["entry"][0]["content"]
    assert (content["dispatchState"], content["isDone"], content["resultCount"]) == ("DONE", "1", "1")
    results = requests.get(
        f"{splunk.mgmt_url}/services/search/v2/jobs/{sid}/results",
        params={"output_mode": "json"},
        auth=auth,
        timeout=10,
    )
    body = results.json()
    assert (body["preview"], body["init_offset"], body["messages"]) == (False, 0, [])
    assert {"name": "_time"} in body["fields"] and body["results"][0]["n"] == "1"
    gone = requests.get(f"{splunk.mgmt_url}/services/search/jobs/nope", auth=auth, timeout=10)
    assert gone.status_code == 404 and "Unknown sid." in gone.text


def test_one_port_mode_serves_both_apis():
    with SplunkTestServer(hec_token="tok-12345", single_port=True) as server:
        assert server.hec_port == server.mgmt_port
        hook = SplunkHook.from_url(server.url())
        hook.send_events([{"n": 1}], index="main")
        assert [row["n"] for row in hook.search("index=main")] == ["1"]
