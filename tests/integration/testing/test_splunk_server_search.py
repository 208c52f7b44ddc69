"""The test server's SPL subset, and Splunk's own SDK (splunklib) running against it unchanged."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from copydicom_provider.testing.splunk import SplunkTestServer

pytestmark = pytest.mark.timeout(60)

STUDIES = [
    # time, index, sourcetype, event
    (1000, "dicom", "_json", {"PatientID": "P1", "Modality": "CT", "Site": "North Wing", "DLP": 100, "Study": "S1"}),
    (2000, "dicom", "_json", {"PatientID": "P2", "Modality": "MR", "Site": "South", "DLP": 0, "Study": "S2"}),
    (3000, "dicom", "_json", {"PatientID": "P1", "Modality": "CT", "Site": "North Wing", "DLP": 300, "Study": "S3"}),
    (4000, "dicom", "_json", {"PatientID": "P3", "Modality": "CTA", "Site": "East", "DLP": 250, "Study": "S4"}),
    (5000, "dicom", "other", {"PatientID": "P4", "Modality": "CT", "Site": "East", "DLP": 50, "Study": "S5"}),
    (6000, "main", "_json", {"PatientID": "P9", "Modality": "CT", "Site": "Main", "DLP": 1, "Study": "S9"}),
]


@pytest.fixture(scope="module")
def splunk() -> Iterator[SplunkTestServer]:
    with SplunkTestServer() as server:
        for stamp, index, sourcetype, event in STUDIES:
            server.add_event(event, time_=stamp, index=index, sourcetype=sourcetype)
        yield server


def run(server: SplunkTestServer, search: str, **form: str) -> list[dict]:
    response = requests.post(
        f"{server.mgmt_url}/services/search/jobs/export",
        data={"search": search, "output_mode": "json", **form},
        auth=(server.username, server.password),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    lines = [json.loads(line) for line in response.text.splitlines()]
    return [line["result"] for line in lines if "result" in line and not line["preview"]]


def error(server: SplunkTestServer, search: str) -> str:
    response = requests.post(
        f"{server.mgmt_url}/services/search/jobs/export",
        data={"search": search, "output_mode": "json"},
        auth=(server.username, server.password),
        timeout=10,
    )
    assert response.status_code == 400
    (message,) = response.json()["messages"]
    assert message["type"] == "FATAL"
    return message["text"]


def studies(rows: list[dict]) -> list[str]:
    """Read from _raw: the "other" sourcetype has no extracted fields."""
    return [json.loads(row["_raw"])["Study"] for row in rows]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("search index=dicom", ["S5", "S4", "S3", "S2", "S1"]),  # newest first
        ("search *", ["S9"]),  # without index=, only main, like Splunk's default role
        ("search index=* Modality=CT", ["S9", "S5", "S3", "S1"]),  # KV_MODE=auto: JSON of any sourcetype
        ("search index=dicom sourcetype=other", ["S5"]),
        ("search index=dicom modality=ct", []),  # field names are case-sensitive
        ("search index=dicom Modality=ct", ["S5", "S3", "S1"]),  # values are not
        ("search index=dicom Modality=CT*", ["S5", "S4", "S3", "S1"]),
        ('search index=dicom Site="North Wing"', ["S3", "S1"]),
        ("search index=dicom Site=*Wing PatientID=P1 AND DLP=300", ["S3"]),
        ('search index=dicom PatientID IN (P2, "P3")', ["S4", "S2"]),
        ("search index=dicom earliest=2000 latest=4000", ["S3", "S2"]),
        ("| search index=dicom DLP=0", ["S2"]),
        ("search index=dicom | head 2", ["S5", "S4"]),
        ("search index=dicom | dedup PatientID", ["S5", "S4", "S3", "S2"]),
    ],
)
def test_search_subset(splunk, search, expected):
    assert studies(run(splunk, search)) == expected


def test_time_window_params_are_half_open_and_inline_terms_win(splunk):
    assert studies(run(splunk, "search index=dicom", earliest_time="2000", latest_time="3000")) == ["S2"]
    # an in-search time term replaces the REST range as a whole (latest then defaults to now)
    assert studies(run(splunk, "search index=dicom earliest=1000", earliest_time="2000", latest_time="1500")) == [
        "S5", "S4", "S3", "S2", "S1"]
    assert studies(run(splunk, "search index=dicom", earliest_time="1970-01-01T00:50:00+00:00")) == ["S5", "S4", "S3"]
    assert run(splunk, "search index=dicom", earliest_time="-1h") == []


def test_fields_and_table(splunk):
    (row,) = run(splunk, "search index=dicom Study=S1 | fields PatientID, Modality")
    assert set(row) == {"PatientID", "Modality", "_time", "_raw"}
    (row,) = run(splunk, "search index=dicom Study=S1 | fields - _* index")
    assert "_raw" not in row and "index" not in row and row["Study"] == "S1"
    rows = run(splunk, "search index=dicom | table Study Site")
    assert rows[0] == {"Study": "S5", "Site": "East"}, "KV_MODE=auto extracts JSON whatever the sourcetype"
    assert list(rows[1]) == ["Study", "Site"] and rows[1] == {"Study": "S4", "Site": "East"}
    assert run(splunk, "search index=main | table NoSuchField") == [{}]


def test_stats(splunk):
    rows = run(
        splunk,
        "search index=dicom sourcetype=_json "
        "| stats count avg(DLP) as mean max(DLP) min(DLP) sum(DLP) median(DLP) by PatientID",
    )
    assert rows == [
        {
            "PatientID": "P1",
            "count": "2",
            "mean": "200",
            "max(DLP)": "300",
            "min(DLP)": "100",
            "sum(DLP)": "400",
            "median(DLP)": "300",
        },
        {
            "PatientID": "P2",
            "count": "1",
            "mean": "0",
            "max(DLP)": "0",
            "min(DLP)": "0",
            "sum(DLP)": "0",
            "median(DLP)": "0",
        },
        {
            "PatientID": "P3",
            "count": "1",
            "mean": "250",
            "max(DLP)": "250",
            "min(DLP)": "250",
            "sum(DLP)": "250",
            "median(DLP)": "250",
        },
    ]
    assert run(splunk, "search index=nothing | stats count") == [{"count": "0"}]
    assert run(splunk, "search index=dicom sourcetype=_json | stats avg(DLP)") == [{"avg(DLP)": "162.5"}]
    assert run(splunk, "search index=dicom | stats count by Site, Modality")[:2] == [
        {"Site": "East", "Modality": "CT", "count": "1"}, {"Site": "East", "Modality": "CTA", "count": "1"}]


@pytest.mark.parametrize(
    "command", ["eval x=1", "eventstats count", "where DLP>1", "spath", "timechart count", 'rex field=x "(?<y>.)"']
)
def test_other_commands_get_splunks_unknown_command_error(splunk, command):
    name = command.split()[0]
    assert error(splunk, f"search index=dicom | {command}") == f"Unknown search command '{name}'."


@pytest.mark.parametrize("search", ["| tstats count where index=dicom error", "| tstats count by _time span=1h",
                                    "| tstats prestats=t count", "search index=dicom | tstats count"])
def test_unimplemented_search_terms_are_refused_not_guessed(splunk, search):
    assert "the Splunk test server does not implement" in error(splunk, search) or "first command" in error(
        splunk, search
    )


@pytest.mark.parametrize(
    "search", ["search Modality=CT OR", "search (Modality=CT", "search NOT", "search Modality=CT)"]
)
def test_malformed_boolean_searches_are_refused(splunk, search):
    assert "Error in 'search' command" in error(splunk, search)


def test_bad_time_and_bad_arguments_are_refused(splunk):
    response = requests.post(
        f"{splunk.mgmt_url}/services/search/jobs/export",
        data={"search": "search *", "output_mode": "json", "earliest_time": "yesterday-ish"},
        auth=(splunk.username, splunk.password),
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["messages"][0]["text"] == "Invalid earliest_time."
    assert "head" in error(splunk, "search * | head many")
    assert error(splunk, "search * | stats p99(DLP)").startswith("Error in 'stats' command")


def test_events_persist_to_a_json_lines_file(tmp_path):
    path = tmp_path / "events.jsonl"
    with SplunkTestServer(hec_token="tok-12345", persist_path=path) as server:
        requests.post(f"{server.hec_url}/services/collector/event", data='{"event":{"a":1},"sourcetype":"_json"}',
                      headers={"Authorization": "Splunk tok-12345"}, timeout=10).raise_for_status()
    with SplunkTestServer(persist_path=path) as again:
        assert [row["a"] for row in run(again, "search *")] == ["1"]


# ------------------------------------------------------------------ splunklib, unchanged
@pytest.mark.parametrize("version", ["9.1.2", "8.2.6"], ids=["v2-search-api", "v1-search-api"])
def test_splunk_sdk_runs_oneshot_export_and_jobs_unchanged(version):
    import splunklib.client as client
    import splunklib.results as results

    with SplunkTestServer(version=version) as server:
        for stamp, index, sourcetype, event in STUDIES:
            server.add_event(event, time_=stamp, index=index, sourcetype=sourcetype)
        service = client.connect(host="127.0.0.1", port=server.mgmt_port, scheme="http",
                                 username=server.username, password=server.password, app="search", owner="admin")
        assert service.splunk_version == tuple(int(p) for p in version.split("."))

        oneshot = results.JSONResultsReader(
            service.jobs.oneshot("search index=dicom Modality=CT | table Study", output_mode="json")
        )
        assert [r["Study"] for r in oneshot if isinstance(r, dict)] == ["S5", "S3", "S1"]

        exported = results.JSONResultsReader(
            service.jobs.export("search index=dicom | stats count by Modality", output_mode="json")
        )
        final = [dict(r) for r in exported if isinstance(r, dict) and not exported.is_preview]
        assert final == [
            {"Modality": "CT", "count": "3"},
            {"Modality": "CTA", "count": "1"},
            {"Modality": "MR", "count": "1"},
        ]

        job = service.jobs.create("search index=dicom | head 3", earliest_time="0", latest_time="now")
        deadline = time.monotonic() + 10
        while not job.is_done():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert job["resultCount"] == "3"
        rows = [r for r in results.JSONResultsReader(job.results(output_mode="json", count=0)) if isinstance(r, dict)]
        assert [json.loads(r["_raw"])["Study"] for r in rows] == ["S5", "S4", "S3"]
        job.cancel()

        with pytest.raises(Exception, match="Unknown search command 'eval'"):
            service.jobs.oneshot("search * | eval x=1")
        paths = {r.path for r in server.requests}
        api = "/search/v2/jobs" if version.startswith("9") else "/search/jobs"
        assert any(p.startswith("/servicesNS/admin/search/") and api in p for p in paths)
