"""The copydicom_replicate_tags DAG run by Airflow itself (dag.test): exactly its interval, asset updated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests
from airflow.utils.state import DagRunState

from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.support.fixtures_orthanc import instance_ids, seed

ASSET_URI = "copydicom://splunk/tags"


@pytest.fixture
def splunk(monkeypatch) -> Iterator[SplunkTestServer]:
    with SplunkTestServer() as server:
        connection = {
            "conn_type": "splunk", "host": "127.0.0.1", "port": server.mgmt_port,
            "login": server.username, "password": server.password,
            "extra": {"scheme": "http", "hec_port": server.hec_port, "hec_token": server.hec_token, "index": "dicom"},
        }
        monkeypatch.setenv("AIRFLOW_CONN_SPLUNK_DEFAULT", json.dumps(connection))
        yield server


def run(dag, logical_date, conf=None):
    dag_run = dag.test(logical_date=logical_date, run_conf=conf or {})
    assert dag_run.state == DagRunState.SUCCESS, dag_run.state
    summarize = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "summarize")
    return summarize.xcom_pull(task_ids="summarize")


def asset_events() -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(select(AssetEvent.extra).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                               .where(AssetModel.uri == ASSET_URI).order_by(AssetEvent.id)).all()
        return [row[0] for row in rows]


def test_dag_loads_with_params_mapping_and_asset(dagbag):
    dag = dagbag.get_dag("copydicom_replicate_tags")
    assert {"enumerate", "index", "summarize"} <= set(dag.task_ids)
    assert dag.params["window"] == "received" and dag.params["splunk_conn_id"] == "splunk_default"
    assert dag.params["source_conn_id"] == "orthanc_source" and dag.params["index"] is None
    assert dag.params["verify"] is True, "scheduled runs (which take the defaults) verify in the index"
    assert dag.get_task("index").partial_kwargs["verify"] == "{{ params.verify }}"
    assert "radiology-it" in dag.owner and {"dicom", "splunk"} <= set(dag.tags) and dag.doc_md
    assert dag.timetable.summary in {"@hourly", "0 * * * *"}
    assert [outlet.uri for outlet in dag.get_task("summarize").outlets] == [ASSET_URI]
    assert dag.default_args["retries"] == 3 and dag.default_args["retry_exponential_backoff"]


def test_a_run_indexes_exactly_its_interval_and_updates_the_asset(dagbag, source, splunk, orthanc_connection,
                                                                 capfd):
    orthanc_connection("orthanc_source", source)
    items = seed(
        source, generate_studies(patients=2, studies_per_patient=1, series_per_study=1, instances_per_series=2)
    )
    ds, truth = make_ct_dose_sr(seed=3)
    requests.post(f"{source.url}/instances", data=to_bytes(ds), auth=source.auth, timeout=30).raise_for_status()
    dag = dagbag.get_dag("copydicom_replicate_tags")
    hour_end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    before = len(asset_events())

    earlier = run(dag, hour_end - timedelta(hours=2), {"since": (hour_end - timedelta(hours=3)).isoformat(),
                                                       "until": (hour_end - timedelta(hours=2)).isoformat()})
    assert earlier["candidates"] == 0 and splunk.events == []  # nothing arrived then

    unbounded = {"since": None, "until": None}
    summary = run(dag, hour_end, unbounded)  # a manual run: its interval's start up to now holds the seeding
    assert (summary["candidates"], summary["sent"], summary["failed"]) == (len(items) + 1, len(items) + 1, 0)
    assert (summary["dose_reports"], summary["irradiation_events"]) == (1, truth["number_of_events"])
    instances = [e for e in splunk.events if e.fields.get("RecordType") == "instance"]
    assert sorted(e.fields["OrthancInstanceID"] for e in instances) == sorted(instance_ids(source))
    assert {i.orthanc_id for i in items} < instance_ids(source)
    assert len(splunk.events) == summary["events_sent"] == len(items) + 2 + truth["number_of_events"]

    events = asset_events()[before:]
    assert len(events) == 2 and events[-1]["sent"] == len(items) + 1 and events[0]["sent"] == 0

    again = run(dag, hour_end, unbounded)  # same window again: nothing is sent twice
    assert (again["already_indexed"], again["sent"]) == (len(items) + 1, 0)
    output = capfd.readouterr()
    assert "sent 0 instances" in output.out + output.err  # the task logs are in what is checked
    assert splunk.hec_token not in output.out + output.err and splunk.password not in output.out + output.err
    assert splunk.hec_token not in json.dumps([summary, again, events])
