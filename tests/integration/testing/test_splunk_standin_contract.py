"""Contract tests: where the hook depends on Splunk's behaviour, the stand-in behaves as Splunk's documentation says.

Each test names the documentation page it follows. Before these fixes the stand-in let tests pass that
real Splunk would fail: it matched indexed fields with ``field=value`` whatever the raw event held,
mixed in-search and REST time ranges, extracted JSON only for ``_json``, refused ``OR``/``NOT``,
accepted event-less HEC envelopes and query-string tokens, called any health check healthy, and
never streamed preview rows or in-stream messages.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
import requests

from copydicom_provider.hooks.splunk import SplunkHook, SplunkSearchError
from copydicom_provider.testing.splunk import HecToken, SplunkTestServer

pytestmark = pytest.mark.timeout(60)

FAST = {"backoff_initial": 0.01, "backoff_max": 0.05, "retry_attempts": 3}


@pytest.fixture
def splunk() -> Iterator[SplunkTestServer]:
    tokens = [HecToken("disabled-token", disabled=True), HecToken("to-dicom", default_index="dicom")]
    with SplunkTestServer(tokens=tokens) as server:
        yield server


def hec(server: SplunkTestServer, body: str, *, token: str | None = None, query: str = "",
        path: str = "/services/collector/event") -> requests.Response:
    headers = {"Authorization": f"Splunk {token or server.hec_token}"}
    return requests.post(f"{server.hec_url}{path}{query}", data=body, headers=headers, timeout=10)


def export_lines(server: SplunkTestServer, search: str, **form: str) -> list[dict]:
    response = requests.post(
        f"{server.mgmt_url}/services/search/jobs/export",
        data={"search": search, "output_mode": "json", **form},
        auth=(server.username, server.password), timeout=10,
    )
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def results(server: SplunkTestServer, search: str, **form: str) -> list[dict]:
    return [line["result"] for line in export_lines(server, search, **form) if "result" in line and not line["preview"]]


def send(server: SplunkTestServer, *envelopes: dict) -> None:
    response = hec(server, "".join(json.dumps(e) for e in envelopes))
    assert response.status_code == 200, response.text


# ------------------------------------------------------------------ indexed fields: =, :: and tstats
def test_an_indexed_field_matches_field_equals_value_only_when_its_terms_are_in_the_raw_event(splunk):
    """Knowledge Manager Manual, "Configure index-time field extractions", and fields.conf (``INDEXED``):
    https://docs.splunk.com/Documentation/Splunk/9.0.2/Admin/Fieldsconf. ``field=value`` on a field not
    declared indexed is looked up by the value's terms in the raw event first; ``field::value`` reads the
    indexed field itself."""
    send(splunk,
         {"index": "dicom", "event": {"n": 1}, "fields": {"copydicom_key": "1.2.3:instance"}},
         {"index": "dicom", "event": {"RecordKey": "4.5.6:instance"}, "fields": {"copydicom_key": "4.5.6:instance"}})
    assert results(splunk, 'search index=dicom copydicom_key="1.2.3:instance"') == []  # not in _raw: Splunk misses it
    assert [r["n"] for r in results(splunk, "search index=dicom copydicom_key::1.2.3:instance")] == ["1"]
    (row,) = results(splunk, 'search index=dicom copydicom_key="4.5.6:instance"')  # in _raw too: found
    assert row["RecordKey"] == "4.5.6:instance"
    assert results(splunk, "search index=dicom RecordKey::4.5.6:instance") == []  # a search-time field is not indexed
    with SplunkTestServer(indexed_fields=["copydicom_key"]) as declared:
        send(declared, {"index": "dicom", "event": {"n": 1}, "fields": {"copydicom_key": "1.2.3:instance"}})
        assert [r["n"] for r in results(declared, 'search index=dicom copydicom_key="1.2.3:instance"')] == ["1"]


def test_tstats_counts_indexed_fields_and_never_search_time_ones(splunk):
    """Search Reference, "tstats": https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/tstats.
    Statistics over the indexed fields of tsidx files (``WHERE ... <field> IN (<value-list>)``, ``BY``),
    not over raw events, so search-time (JSON) fields are invisible to it."""
    send(splunk, *({"index": "dicom", "event": {"Modality": "CT"}, "fields": {"copydicom_key": f"k{n % 3}"}}
                   for n in range(7)))
    rows = results(splunk, '| tstats count where index=dicom copydicom_key IN ("k0", "k2", "absent") by copydicom_key')
    assert rows == [{"copydicom_key": "k0", "count": "3"}, {"copydicom_key": "k2", "count": "2"}]
    assert results(splunk, "| tstats count where index=dicom Modality=CT") == [{"count": "0"}]
    assert results(splunk, "| tstats count where index=dicom by Modality") == []
    assert results(splunk, "| tstats count dc(copydicom_key) as keys values(sourcetype) where index=dicom") == [
        {"count": "7", "keys": "3", "values(sourcetype)": "httpevent"}]
    assert results(splunk, "| tstats count where copydicom_key=k0") == [{"count": "0"}]  # default index: main only
    assert [line["preview"] for line in export_lines(splunk, "| tstats count where index=dicom")] == [True, False]


def test_tstats_must_come_first_and_unimplemented_parts_are_refused(splunk):
    """Search Reference, "tstats": a generating command, so it starts the search with a pipe."""
    for search, text in (("search index=dicom | tstats count", "must be the first command"),
                         ("| tstats count by _time span=1d", "does not implement"),
                         ("| tstats count where index=dicom error", "does not implement")):
        response = requests.post(f"{splunk.mgmt_url}/services/search/jobs/export",
                                 data={"search": search, "output_mode": "json"},
                                 auth=(splunk.username, splunk.password), timeout=10)
        assert response.status_code == 400 and text in response.json()["messages"][0]["text"], search


# ------------------------------------------------------------------ boolean filters
@pytest.fixture
def studies(splunk: SplunkTestServer) -> SplunkTestServer:
    for n, (modality, site, dlp) in enumerate(
        [("CT", "A", 50), ("MR", "A", None), ("CT", "B", 300), ("US", "B", None)]
    ):
        event = {"Study": f"S{n}", "Modality": modality, "Site": site}
        if dlp is not None:
            event["DLP"] = dlp
        splunk.add_event(event, time_=1000 + n, index="dicom", sourcetype="dicom:tags")
    splunk.add_event({"Study": "S4", "Site": "A"}, time_=1004, index="dicom", sourcetype="dicom:tags")
    return splunk


def chosen(server: SplunkTestServer, search: str) -> list[str]:
    return sorted(row["Study"] for row in results(server, search))


@pytest.mark.parametrize(("search", "expected"), [
    ("Modality=CT OR Modality=MR", ["S0", "S1", "S2"]),
    ("Site=A Modality=CT OR Modality=MR", ["S0", "S1"]),  # OR binds before the implied AND
    ("(Site=A Modality=CT) OR Modality=US", ["S0", "S3"]),
    ("NOT Modality=CT", ["S1", "S3", "S4"]),  # NOT includes events without the field
    ("Modality!=CT", ["S1", "S3"]),  # != needs the field
    ("NOT (Modality=CT OR Modality=MR) Site=B", ["S3"]),
    ("DLP>100", ["S2"]),
    ("DLP<=50", ["S0"]),
    ('(Modality="CT" OR Modality="MR") AND Site=A', ["S0", "S1"]),
    ("Modality IN (US, MR) NOT Site=A", ["S3"]),
    ("Modality=ct or", []),  # lower-case "or" is a search term, and no event holds it
    ("B NOT Modality=US", ["S2"]),  # a bare keyword matches a term of the raw event
    ('"S4" OR DLP>=300', ["S2", "S4"]),
])
def test_boolean_filters_follow_splunks_order_of_evaluation(studies, search, expected):
    """Search Manual, "Boolean expressions with logical operators":
    https://help.splunk.com/en/splunk-enterprise/search/search-manual/9.3/expressions-and-predicates.
    Parentheses, then NOT, then OR, then AND; the operators are upper case."""
    assert chosen(studies, f'search index="dicom" ({search})') == expected  # the shape conditional-replicate sends
    assert chosen(studies, f"search index=dicom {search}") == expected


# ------------------------------------------------------------------ time range
def test_in_search_time_terms_replace_the_rest_range_and_latest_defaults_to_now(splunk):
    """Search Reference, "Time modifiers":
    https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/time-format-variables-and-modifiers/time-modifiers.
    A time modifier in the search overrides the time range given with the request; without ``latest``,
    ``now`` is used."""
    now = time.time()
    for n, stamp in enumerate((1000, 2000, now + 3600)):
        splunk.add_event({"n": n}, time_=stamp, index="dicom")
    n_of = lambda rows: sorted(r["n"] for r in rows)  # noqa: E731
    assert n_of(results(splunk, "search index=dicom")) == ["0", "1"]  # the future event is after now
    assert n_of(results(splunk, "search index=dicom", latest_time="+2h")) == ["0", "1", "2"]
    assert n_of(results(splunk, "search index=dicom earliest=1500", earliest_time="0", latest_time="1200")) == ["1"]
    assert n_of(results(splunk, "search index=dicom latest=1500", earliest_time="1800")) == ["0"]


# ------------------------------------------------------------------ JSON extraction
def test_json_events_get_search_time_fields_whatever_their_sourcetype(splunk):
    """Knowledge Manager Manual, "Configure automatic key-value field extraction" (``KV_MODE = auto``):
    https://help.splunk.com/splunk-enterprise/manage-knowledge-objects/knowledge-management-manual/10.0/use-the-configuration-files-to-configure-field-extractions/configure-automatic-key-value-field-extraction.
    JSON arrays become multivalue fields named ``key{}``."""
    send(splunk, {"index": "dicom", "sourcetype": "dicom:tags", "event": {"Modality": "CT", "Codes": ["a", "b"]}},
         {"index": "dicom", "sourcetype": "dicom:tags", "event": "Modality=CT as plain text"})
    (row,) = results(splunk, "search index=dicom sourcetype=dicom:tags Modality=CT")
    assert row["Codes{}"] == ["a", "b"] and row["sourcetype"] == "dicom:tags"
    hook = SplunkHook.from_url(splunk.url(index="dicom"), **FAST)
    hook.send_events([{"PatientName": "Müller^Jürgen", "Modality": "MR"}], sourcetype="dicom:tags")
    (row,) = results(splunk, 'search index=dicom PatientName="müller^jürgen"')  # values match in any case
    assert row["Modality"] == "MR"


# ------------------------------------------------------------------ HEC
def test_an_envelope_with_fields_but_no_event_is_refused_with_code_12(splunk):
    """Getting Data In, "Troubleshoot HTTP Event Collector" (status codes):
    https://docs.splunk.com/Documentation/Splunk/9.2.3/Data/TroubleshootHTTPEventCollector."""
    response = hec(splunk, '{"event":"kept"}{"fields":{"copydicom_key":"k"}}')
    assert (response.status_code, response.json()) == (
        400, {"text": "Event field is required", "code": 12, "invalid-event-number": 1})
    assert [e.raw for e in splunk.events] == ["kept"]  # the envelope before it was indexed, like Splunk


def test_a_token_in_the_query_string_is_refused_with_code_16(splunk):
    """"Troubleshoot HTTP Event Collector": query-string authorization is off by default (code 16, HTTP 400)."""
    response = requests.post(f"{splunk.hec_url}/services/collector/event?token={splunk.hec_token}",
                             data='{"event":"x"}', timeout=10)
    assert (response.status_code, response.json()) == (
        400,
        {"text": "Query string authorization is not enabled", "code": 16},
    )
    health = requests.get(f"{splunk.hec_url}/services/collector/health?token={splunk.hec_token}", timeout=10)
    assert (health.status_code, health.json()["code"]) == (400, 16)
    assert splunk.events == []


def test_a_health_check_with_a_token_checks_the_token(splunk):
    """"Troubleshoot HTTP Event Collector": codes 17 (healthy), 21 (invalid token), 22 (token disabled)."""
    url = f"{splunk.hec_url}/services/collector/health"

    def health(token: str | None) -> tuple[int, dict]:
        response = requests.get(url, headers={"Authorization": f"Splunk {token}"} if token else {}, timeout=10)
        return response.status_code, response.json()

    assert health(None) == (200, {"text": "HEC is healthy", "code": 17})
    assert health(splunk.hec_token) == (200, {"text": "HEC is healthy", "code": 17})
    assert health("00000000-0000-0000-0000-000000000000") == (400, {"text": "Invalid token", "code": 21})
    assert health("disabled-token") == (400, {"text": "Token disabled", "code": 22})


def test_the_hooks_connection_test_names_a_refused_token_without_showing_it(splunk):
    wrong = "11111111-2222-3333-4444-555555555555"
    ok, message = SplunkHook.from_url(splunk.url(index="dicom", hec_token=wrong)).test_connection()
    assert not ok and "refused the token" in message and "code 21" in message and wrong not in message


# ------------------------------------------------------------------ export stream
def test_the_hook_yields_final_results_only_and_skips_preview_rows(splunk):
    """REST API Tutorials, "Creating searches using the REST API" (``search/jobs/export`` streams results
    as they become available, previews of a transforming search first):
    https://help.splunk.com/en/splunk-enterprise/leverage-rest-apis/rest-api-tutorials/9.0/rest-api-tutorials/creating-searches-using-the-rest-api."""
    for n in range(3):
        splunk.add_event({"Modality": "CT" if n else "MR"}, time_=1000 + n, index="dicom")
    lines = export_lines(splunk, "search index=dicom | stats count by Modality")
    assert [line["preview"] for line in lines] == [True, True, False, False]
    hook = SplunkHook.from_url(splunk.url(index="dicom"))
    assert list(hook.search("index=dicom | stats count by Modality")) == [
        {"Modality": "CT", "count": "2"}, {"Modality": "MR", "count": "1"}]


def test_in_stream_messages_warn_or_fail_the_search(splunk, caplog, capsys):
    """Splunk SDK for Python, ``JSONResultsReader``: export lines may carry ``messages`` between results."""
    for n in range(3):
        splunk.add_event({"n": n}, time_=1000 + n, index="dicom")
    hook = SplunkHook.from_url(splunk.url(index="dicom"))
    splunk.export_message("WARN", "Search peer idx-2 is down; results may be incomplete", after_rows=1)
    caplog.set_level(logging.WARNING)
    assert len(list(hook.search("index=dicom"))) == 3
    captured = capsys.readouterr()  # Airflow's task logger may write to stdout instead of propagating
    assert "results may be incomplete" in caplog.text + captured.out + captured.err
    splunk.export_message("ERROR", "Search auto-canceled", after_rows=2)
    seen = []
    with pytest.raises(SplunkSearchError, match=r"Search auto-canceled \(after 2 results\)"):
        seen.extend(hook.search("index=dicom"))  # keeps the rows the search yielded before it raised
    assert len(seen) == 2


def test_a_search_with_a_peer_down_answers_what_the_other_peers_hold_and_warns(splunk):
    """Splunk docs, Troubleshooting Manual, "Intermittent authentication timeouts on search peers": a peer
    with status Down is left out of the search ("Unable to distribute to peer named ... because peer has
    status = "Down""); the search head still answers, with the other peers' results and that WARN."""
    for n in range(6):
        splunk.add_event({"n": n}, time_=1000 + n, index="dicom")
    splunk.partial_peers(2)
    lines = export_lines(splunk, "search index=dicom")
    (warning,) = [m for line in lines for m in line.get("messages", [])]
    assert warning["type"] == "WARN" and 'because peer has status = "Down"' in warning["text"]
    assert sorted(int(line["result"]["n"]) for line in lines if "result" in line) == [0, 2, 4]  # idx1's share
    oneshot = requests.post(f"{splunk.mgmt_url}/services/search/jobs", auth=(splunk.username, splunk.password),
                            data={"search": "search index=dicom", "exec_mode": "oneshot", "output_mode": "json"},
                            timeout=10).json()
    assert len(oneshot["results"]) == 3 and oneshot["messages"][0]["type"] == "WARN"
    assert len(results(splunk, "search index=dicom")) == 6 and all(
        "messages" not in line for line in export_lines(splunk, "search index=dicom")), "the peer is back"


def test_too_many_searches_at_once_is_a_503_with_splunks_message(splunk):
    """splunkd refuses a search over its concurrency limit with 503 and "Search not executed: The maximum number
    of concurrent historical searches ... has been reached." (as quoted in hasadna/open-bus#177)."""
    splunk.searches_refused(1)
    response = requests.post(f"{splunk.mgmt_url}/services/search/jobs/export", auth=(splunk.username, splunk.password),
                             data={"search": "search index=dicom", "output_mode": "json"}, timeout=10)
    assert response.status_code == 503 and "maximum number of concurrent historical searches" in response.text
    assert export_lines(splunk, "search index=dicom") == [{"preview": False, "lastrow": True}]


# ------------------------------------------------------------------ the hook's duplicate check
def test_the_duplicate_check_is_a_tstats_on_the_indexed_field(splunk):
    hook = SplunkHook.from_url(splunk.url(index="dicom"), **FAST)
    envelopes = [hook.envelope({"n": n}, fields={"copydicom_key": f"id{n}:instance"}) for n in range(3)]
    hook.send_envelopes(envelopes)
    assert hook.indexed_values(
        "copydicom_key", ["id0:instance", "id2:instance", "id9:instance"], indexes=["dicom"]
    ) == {"id0:instance", "id2:instance"}
    (query,) = [r for r in splunk.requests if r.path.endswith("/export")]
    search = parse_qs(query.body.decode())["search"][0]
    assert search.startswith('| tstats count where index="dicom" copydicom_key IN (') and search.endswith(
        " by copydicom_key"
    )
    with pytest.raises(ValueError, match="not a plain Splunk field name"):
        hook.indexed_values("key) OR (x", ["a"])


def test_a_check_of_record_keys_counts_them_first_and_asks_for_rows_only_when_some_are_missing(splunk):
    """``one_value_per_event``: a one-row ``dc()`` search settles a page held wholly or not at all (a rerun,
    a first run); a page partly held is then asked key by key. Without it, several values per event
    (which ``dc()`` would also count) still give the exact answer."""
    hook = SplunkHook.from_url(splunk.url(index="dicom"), **FAST)
    hook.send_envelopes([hook.envelope({"n": n}, fields={"copydicom_key": f"id{n}:instance"}) for n in range(4)])

    def searches() -> list[str]:
        return [parse_qs(r.body.decode())["search"][0] for r in splunk.requests if r.path.endswith("/export")]

    held = [f"id{n}:instance" for n in range(4)]
    assert hook.indexed_values("copydicom_key", held, indexes=["dicom"], one_value_per_event=True) == set(held)
    assert hook.indexed_values("copydicom_key", ["no1", "no2"], indexes=["dicom"], one_value_per_event=True) == set()
    assert [q.split(" where ")[0] for q in searches()] == ["| tstats dc(copydicom_key) AS held"] * 2
    partly = ["id1:instance", "no3"]
    assert hook.indexed_values("copydicom_key", partly, indexes=["dicom"], one_value_per_event=True) == {"id1:instance"}
    assert searches()[-1].endswith(" by copydicom_key")

    hook.send_envelopes([hook.envelope({"n": 9}, fields={"copydicom_key": ["multi:a", "multi:z"]})])
    assert results(
        splunk, '| tstats dc(copydicom_key) AS held where index=dicom copydicom_key IN ("multi:a", "b")'
    ) == [{"held": "2"}]  # the event's other value counts too
    assert hook.indexed_values("copydicom_key", ["multi:a", "b"], indexes=["dicom"]) == {"multi:a"}


def test_without_an_index_the_check_finds_what_hec_wrote_to_the_tokens_default_index(splunk):
    """The token's default index (here ``dicom``) is not among the role's default indexes (``main``):
    the check searches every index, so it still sees what HEC wrote."""
    hook = SplunkHook.from_url(splunk.url(index="", hec_token="to-dicom"), **FAST)
    assert hook.settings.index is None
    hook.send_envelopes([hook.envelope({"n": 1}, fields={"copydicom_key": "only:instance"})])
    assert [e.index for e in splunk.events] == ["dicom"]
    assert hook.indexed_values("copydicom_key", ["only:instance"]) == {"only:instance"}
    assert results(splunk, "| tstats count where copydicom_key=only:instance") == [{"count": "0"}]  # the role's default


def test_the_check_finds_events_stamped_in_the_future(splunk):
    """A modality with a wrong clock stamps instances ahead of now: the all-time check must still see them."""
    hook = SplunkHook.from_url(splunk.url(index="dicom"), **FAST)
    hook.send_envelopes(
        [hook.envelope({"n": 1}, time=time.time() + 86400 * 30, fields={"copydicom_key": "late:instance"})]
    )
    assert hook.indexed_values("copydicom_key", ["late:instance"], indexes=["dicom"]) == {"late:instance"}


def test_the_check_reads_posting_lists_so_its_cost_does_not_grow_with_the_index(splunk, monkeypatch):
    """Like Splunk's tsidx lookup, the stand-in's tstats on exact indexed values looks only at the events
    holding them: the other 20,000 events of the index (other instances, other years) are never examined."""
    from copydicom_provider.testing.splunk import StoredEvent, spl_match

    splunk.state.store([StoredEvent(1.3e9 + n, "dicom", "h", "s", "_json", f'{{"n":{n}}}', 0, 0,
                                    {"copydicom_key": f"old{n}:instance"}) for n in range(20_000)])
    hook = SplunkHook.from_url(splunk.url(index="dicom"), **FAST)
    hook.send_envelopes([hook.envelope({"n": n}, fields={"copydicom_key": f"new{n}:instance"}) for n in range(5)])
    examined: set[int] = set()
    real_call = spl_match.Matcher.__call__

    def counting(self, expr, event):
        examined.add(id(event))
        return real_call(self, expr, event)

    monkeypatch.setattr(spl_match.Matcher, "__call__", counting)
    wanted = [f"new{n}:instance" for n in range(5)] + [f"absent{n}:instance" for n in range(195)]
    assert hook.indexed_values("copydicom_key", wanted, indexes=["dicom"]) == set(wanted[:5])
    assert len(examined) == 5
    assert (
        len(results(splunk, "| tstats count where index=dicom")) == 1 and len(examined) == 20_005
    )  # a scan examines all


# ------------------------------------------------------------------ Splunk's errors are their own
def test_splunk_failures_are_not_orthanc_errors_and_a_refused_token_fails_at_once(splunk):
    from copydicom_provider.hooks.errors import OrthancError
    from copydicom_provider.hooks.splunk import SplunkError, SplunkHecError
    from copydicom_provider.jobs.fail_fast import permanent_reason
    from copydicom_provider.jobs.replicate_tags import TagsFailed

    wrong = "99999999-8888-7777-6666-555555555555"
    hook = SplunkHook.from_url(splunk.url(index="dicom", hec_token=wrong), **FAST)
    with pytest.raises(SplunkHecError) as refused:
        hook.send_envelopes([hook.envelope({"n": 1})])
    assert (refused.value.status, refused.value.code) == (403, 4) and not isinstance(refused.value, OrthancError)
    reason = permanent_reason(refused.value)
    assert reason is not None and "Invalid token" in reason and wrong not in reason
    splunk.busy(10)
    with pytest.raises(SplunkHecError) as busy:
        SplunkHook.from_url(splunk.url(index="dicom"), **FAST).send_envelopes([hook.envelope({"n": 1})])
    assert busy.value.status == 503 and permanent_reason(busy.value) is None  # an outage is left to retries
    assert not issubclass(SplunkError, OrthancError) and not issubclass(TagsFailed, OrthancError)
