"""SplunkHook against the Splunk test server: sending, retries, acks, searching, test_connection."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from copydicom_provider.hooks.splunk import (
    SplunkHecError,
    SplunkHook,
    SplunkSearchError,
    epoch_seconds,
    normalize_spl,
)
from copydicom_provider.testing.splunk import SplunkTestServer

pytestmark = pytest.mark.timeout(60)

FAST = {"backoff_initial": 0.01, "backoff_max": 0.05, "retry_attempts": 4}


@pytest.fixture
def splunk() -> Iterator[SplunkTestServer]:
    with SplunkTestServer() as server:
        yield server


def make_hook(server: SplunkTestServer, index: str = "dicom", **kwargs) -> SplunkHook:
    extra = kwargs.pop("url_extra", {})
    return SplunkHook.from_url(server.url(index=index, **extra), **{**FAST, **kwargs})


def hec_posts(server: SplunkTestServer) -> list:
    return [r for r in server.requests if r.path == "/services/collector/event"]


# ------------------------------------------------------------------ sending
def test_ten_thousand_events_are_sent_in_batches_and_all_found_by_search(splunk):
    hook = make_hook(splunk, max_batch_events=500)
    start = time.time()
    events = ({"seq": i, "modality": "CT" if i % 2 else "MR", "at": start} for i in range(10_000))

    result = hook.send_events(events, time_field="at")

    assert (result.events, result.batches, result.requests, result.retries) == (10_000, 20, 20, 0)
    assert len(hec_posts(splunk)) == 20
    found = list(hook.search("index=dicom sourcetype=_json", start - 1, time.time() + 1))
    assert sorted(int(row["seq"]) for row in found) == list(range(10_000))
    assert {row["index"] for row in found} == {"dicom"}
    counts = {row["modality"]: row["count"] for row in hook.search("index=dicom | stats count by modality")}
    assert counts == {"CT": "5000", "MR": "5000"}


def test_batches_are_capped_by_bytes_and_large_bodies_are_gzipped(splunk):
    hook = make_hook(splunk, max_batch_events=10_000, max_batch_bytes=20_000, gzip_min_bytes=4_000)
    payload = "x" * 150

    hook.send_events({"seq": i, "pad": payload} for i in range(600))

    posts = hec_posts(splunk)
    assert len(posts) > 1
    assert all(len(r.body) <= 20_000 for r in posts)
    assert all(r.headers.get("Content-Encoding") == "gzip" and len(r.raw_body) < len(r.body) for r in posts)
    assert len(splunk.events) == 600


def test_small_bodies_are_not_gzipped(splunk):
    make_hook(splunk).send_events([{"seq": 1}])
    (post,) = hec_posts(splunk)
    assert "Content-Encoding" not in post.headers
    assert post.raw_body == post.body


def test_invalid_token_fails_at_once_with_splunks_text(splunk):
    hook = SplunkHook.from_url(splunk.url().replace(splunk.hec_token, "wrong-token-0000"), **FAST)

    with pytest.raises(SplunkHecError) as raised:
        hook.send_events([{"seq": 1}])

    assert "Invalid token" in str(raised.value)
    assert (raised.value.status, raised.value.code, raised.value.accepted) == (403, 4, 0)
    assert len(hec_posts(splunk)) == 1, "a 4xx is permanent: no retry"


def test_wrong_index_fails_with_splunks_text(splunk):
    with pytest.raises(SplunkHecError) as raised:
        make_hook(splunk, index="no_such_index").send_events([{"seq": 1}])

    assert "Incorrect index" in str(raised.value)
    assert (raised.value.status, raised.value.code) == (400, 7)
    assert splunk.events == []


def test_malformed_event_names_the_event_and_keeps_the_ones_before(splunk):
    hook = make_hook(splunk, max_batch_events=4)
    events = [{"seq": i} for i in range(10)]
    events[6] = "   "  # a blank event: Splunk's code 13

    with pytest.raises(SplunkHecError) as raised:
        hook.send_events(events)

    error = raised.value
    assert "Event field cannot be blank" in str(error) and "event 6" in str(error)
    assert (error.code, error.event_number, error.accepted) == (13, 6, 6)
    assert [json.loads(e.raw)["seq"] for e in splunk.events] == [0, 1, 2, 3, 4, 5]
    assert len(hec_posts(splunk)) == 2, "nothing is sent after a permanent error"


def test_an_envelope_without_event_is_refused_before_sending(splunk):
    with pytest.raises(ValueError, match="no 'event'"):
        make_hook(splunk).send_envelopes([{"event": 1}, {"fields": {"a": "b"}}])
    assert hec_posts(splunk) == []


def test_nested_indexed_fields_are_refused_before_sending(splunk):
    hook = make_hook(splunk)
    with pytest.raises(ValueError, match="must be a string or a list of strings"):
        hook.send_events([{"seq": 1}], fields={"patient": {"id": "1"}})
    hook.send_events([{"seq": 1}], fields={"site": "north", "tags": ["a", "b"]})
    assert splunk.events[0].fields["tags"] == ["a", "b"]


def test_a_burst_of_503_is_retried_with_backoff_then_succeeds(splunk, capsys):
    hook = make_hook(splunk, retry_attempts=5, backoff_initial=0.05, backoff_max=1.0)
    splunk.busy(3)
    started = time.monotonic()

    result = hook.send_events([{"seq": i} for i in range(50)])

    assert (result.events, result.retries, result.requests) == (50, 3, 4)
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.2, "exponential backoff between tries"
    retries = [line for line in capsys.readouterr().out.splitlines() if "; retry " in line]  # Airflow logs to stdout
    assert len(retries) == 3 and all("Server is busy" in line for line in retries)
    assert len(splunk.events) == 50


def test_a_retry_resends_only_from_invalid_event_number(splunk):
    hook = make_hook(splunk, max_batch_events=100)
    splunk.busy_after(30)

    result = hook.send_events([{"seq": i} for i in range(100)])

    first, second = hec_posts(splunk)
    assert first.body.count(b'{"sourcetype"') == 100
    assert second.body.count(b'{"sourcetype"') == 70 and second.body.startswith(
        b'{"sourcetype":"_json","index":"dicom","event":{"seq":30}}'
    )
    assert sorted(json.loads(e.raw)["seq"] for e in splunk.events) == list(range(100)), "no duplicates, none lost"
    assert (result.events, result.retries) == (100, 1)


def test_dropped_connections_are_retried(splunk):
    splunk.drop(2)
    result = make_hook(splunk).send_events([{"seq": i} for i in range(5)])
    assert (result.events, result.retries) == (5, 2)
    assert len(splunk.events) == 5


def test_a_permanent_503_gives_up_after_the_bound(splunk):
    splunk.busy_forever()
    hook = make_hook(splunk, retry_attempts=3)

    with pytest.raises(SplunkHecError) as raised:
        hook.send_events([{"seq": 1}, {"seq": 2}])

    assert "after 3 attempts" in str(raised.value) and "Server is busy" in str(raised.value)
    assert (raised.value.status, raised.value.code, raised.value.accepted) == (503, 9, 0)
    assert len(hec_posts(splunk)) == 3


def test_too_large_batches_are_split_and_a_too_large_event_is_refused():
    with SplunkTestServer(max_content_length=3_000) as server:
        hook = make_hook(server, max_batch_bytes=100_000, gzip_min_bytes=10**9)
        hook.send_events([{"seq": i, "pad": "y" * 100} for i in range(60)])
        assert sorted(json.loads(e.raw)["seq"] for e in server.events) == list(range(60))
        assert any(r for r in server.requests if len(r.body) > 3_000), "the first try was too large"

        with pytest.raises(SplunkHecError) as raised:
            hook.send_events([{"seq": 0, "pad": "z" * 5_000}])
        assert raised.value.status == 413 and "too large" in str(raised.value)


def test_ack_mode_waits_until_every_batch_is_indexed():
    with SplunkTestServer(ack=True, ack_delay=0.3) as server:
        hook = make_hook(server, max_batch_events=10, ack_poll_interval=0.05, url_extra={"ack": "true"})
        started = time.monotonic()

        result = hook.send_events([{"seq": i} for i in range(35)])

        assert time.monotonic() - started >= 0.3
        assert (result.batches, result.acknowledged, sorted(result.ack_ids)) == (4, 4, [0, 1, 2, 3])
        polls = [r for r in server.requests if r.path == "/services/collector/ack"]
        assert len(polls) >= 2, "it polled until Splunk said true"
        channels = {r.headers.get("X-Splunk-Request-Channel") for r in server.requests if r.port == "hec"}
        assert len(channels) == 1 and None not in channels


def test_ack_mode_gives_up_after_the_ack_timeout():
    with SplunkTestServer(ack=True, ack_delay=30) as server:
        hook = make_hook(server, ack_timeout=0.3, ack_poll_interval=0.05, url_extra={"ack": "true"})
        with pytest.raises(SplunkHecError, match="acknowledged 0 of 1 batches"):
            hook.send_events([{"seq": 1}])


def test_an_ack_token_without_ack_mode_gets_splunks_channel_error():
    with SplunkTestServer(ack=True) as server:
        with pytest.raises(SplunkHecError, match="Data channel is missing"):
            make_hook(server).send_events([{"seq": 1}])


# ------------------------------------------------------------------ envelopes
def test_envelope_defaults_come_from_the_connection(splunk):
    hook = make_hook(splunk)
    stamp = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert hook.envelope({"a": 1}, time=stamp) == {
        "time": 1704164645.678, "sourcetype": "_json", "index": "dicom", "event": {"a": 1}
    }
    assert epoch_seconds("2024-01-02T03:04:05+00:00") == 1704164645
    assert epoch_seconds(1704164645.12345) == 1704164645.123


def test_events_carry_their_own_time_and_non_json_values(splunk):
    hook = make_hook(splunk)
    stamp = datetime(2023, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    hook.send_events([{"when": stamp, "tags": ("a", "b")}], time_field="when")
    (stored,) = splunk.events
    assert stored.time == stamp.timestamp()
    assert json.loads(stored.raw) == {"when": "2023-05-06T07:08:09+00:00", "tags": ["a", "b"]}


# ------------------------------------------------------------------ searching
@pytest.fixture
def indexed(splunk) -> SplunkTestServer:
    for second, modality in ((100, "CT"), (200, "MR"), (300, "CT"), (400, "US")):
        splunk.add_event({"modality": modality, "t": second}, time_=second, index="dicom")
    return splunk


def test_search_prefixes_search_when_needed():
    assert normalize_spl("index=dicom") == "search index=dicom"
    assert normalize_spl("  search index=dicom") == "search index=dicom"
    assert normalize_spl("| makeresults") == "| makeresults"
    assert normalize_spl("searchable=1") == "search searchable=1"


def test_search_window_is_earliest_inclusive_latest_exclusive(indexed):
    hook = make_hook(indexed)
    rows = list(hook.search("index=dicom", earliest_time=200, latest_time=400))
    assert [row["t"] for row in rows] == ["300", "200"], "newest first; 400 is outside [200, 400)"
    window = (datetime.fromtimestamp(100, timezone.utc), datetime.fromtimestamp(300, timezone.utc))
    assert [row["t"] for row in hook.search("index=dicom", *window)] == ["200", "100"]
    request = [r for r in indexed.requests if r.path == "/services/search/jobs/export"][-1]
    assert b"search=search+index%3Ddicom" in request.body and b"earliest_time=100.000" in request.body


def test_search_results_are_strings_and_stats_work(indexed):
    hook = make_hook(indexed)
    rows = list(hook.search("search index=dicom modality IN (CT, US) | stats count max(t) by modality"))
    assert rows == [
        {"modality": "CT", "count": "2", "max(t)": "300"},
        {"modality": "US", "count": "1", "max(t)": "400"},
    ]


def test_search_is_lazy_and_streams(indexed):
    hook = make_hook(indexed)
    results = hook.search("index=dicom")
    assert not [r for r in indexed.requests if r.port == "mgmt"], "nothing is sent before iteration"
    assert next(results)["t"] == "400"
    results.close()


def test_search_errors_quote_splunk(indexed):
    hook = make_hook(indexed)
    with pytest.raises(SplunkSearchError, match=r"Unknown search command 'eval'\.") as raised:
        list(hook.search("index=dicom | eval x=1"))
    assert raised.value.status == 400


def test_search_logs_in_again_when_the_session_expires(indexed):
    hook = make_hook(indexed)
    assert len(list(hook.search("index=dicom"))) == 4
    indexed.state.sessions.clear()  # splunkd restarted or the session timed out
    assert len(list(hook.search("index=dicom"))) == 4
    assert len([r for r in indexed.requests if r.path == "/services/auth/login"]) == 2


def test_search_with_a_bearer_token():
    with SplunkTestServer(bearer_tokens=["bearer-token-abc"]) as server:
        server.add_event({"a": 1}, time_=10)
        hook = SplunkHook.from_url(
            f"http://127.0.0.1:{server.mgmt_port}?hec_port={server.hec_port}&token=bearer-token-abc", **FAST
        )
        assert [row["a"] for row in hook.search("index=main")] == ["1"]
        export = next(r for r in server.requests if r.path.endswith("/export"))
        assert export.headers["Authorization"] == "Bearer bearer-token-abc"
        assert not [r for r in server.requests if r.path == "/services/auth/login"]


def test_a_wrong_password_is_reported_with_splunks_text(splunk):
    url = splunk.url().replace(splunk.password, "not-the-password")
    with pytest.raises(SplunkSearchError, match="Login failed"):
        list(SplunkHook.from_url(url, **FAST).search("index=main"))


# ------------------------------------------------------------------ test_connection
def test_test_connection_checks_both_sides(splunk):
    ok, message = make_hook(splunk).test_connection()
    assert ok, message
    assert "accepts the token" in message and "Splunk 9.1.2" in message
    assert splunk.events == [], "the token check indexes nothing"


def test_test_connection_names_the_hec_side_when_the_token_is_wrong(splunk):
    hook = SplunkHook.from_url(splunk.url().replace(splunk.hec_token, "wrong-token-0000"), **FAST)
    ok, message = hook.test_connection()
    assert not ok
    assert message.startswith("Splunk HEC side failed") and "Invalid token" in message


def test_test_connection_names_the_management_side_when_the_password_is_wrong(splunk):
    hook = SplunkHook.from_url(splunk.url().replace(splunk.password, "not-the-password"), **FAST)
    ok, message = hook.test_connection()
    assert not ok
    assert message.startswith("Splunk management side failed") and "Login failed" in message


def test_test_connection_reports_unhealthy_hec_and_unreachable_ports(splunk):
    splunk.busy_forever()
    ok, message = make_hook(splunk).test_connection()
    assert not ok and "HEC is unhealthy, queues are full" in message
    hook = SplunkHook.from_url("http://admin:pw-123456@127.0.0.1:9?hec_port=9&hec_token=tok-123456", **FAST)
    ok, message = hook.test_connection()
    assert not ok and message.startswith("Splunk HEC and management side failed") and "unreachable" in message


# ------------------------------------------------------------------ connections
def test_hook_reads_an_airflow_connection_from_the_environment(splunk, monkeypatch):
    from airflow.sdk import Connection

    conn = Connection(
        conn_id="splunk_test",
        conn_type="splunk",
        host="127.0.0.1",
        port=splunk.mgmt_port,
        login=splunk.username,
        password=splunk.password,
        extra=json.dumps(
            {
                "hec_port": splunk.hec_port,
                "hec_token": splunk.hec_token,
                "scheme": "http",
                "index": "dicom",
                "verify": False,
            }
        ),
    )
    monkeypatch.setenv("AIRFLOW_CONN_SPLUNK_TEST", conn.as_json())

    hook = SplunkHook(splunk_conn_id="splunk_test", **FAST)
    assert hook.test_connection()[0]
    hook.send_events([{"seq": 1}, {"seq": 2}])
    assert sorted(row["seq"] for row in hook.search("index=dicom")) == ["1", "2"]
    assert (hook.hec_url, hook.mgmt_url) == (splunk.hec_url, splunk.mgmt_url)
    assert hook.settings.verify is False


def test_from_url_reads_ports_scheme_and_extras():
    hook = SplunkHook.from_url("splunk://admin:p%40ss@splunk.example.org?hec_port=18088&hec_token=abc-123&ack=true&index=dicom")
    hook._load()
    assert hook.mgmt_url == "https://splunk.example.org:8089"
    assert hook.hec_url == "https://splunk.example.org:18088"
    assert (hook.settings.ack, hook.settings.index, hook.settings.sourcetype) == (True, "dicom", "_json")
    assert hook._password == "p@ss"


def test_from_url_refuses_a_non_splunk_url_without_echoing_secrets():
    with pytest.raises(ValueError, match="Splunk URL") as raised:
        SplunkHook.from_url("ftp://admin:secret-pw-1@host:21?hec_token=secret-token-1")
    assert "secret-pw-1" not in str(raised.value) and "secret-token-1" not in str(raised.value)
