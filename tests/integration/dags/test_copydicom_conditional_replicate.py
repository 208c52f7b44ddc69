"""The copydicom_conditional_replicate DAG run by Airflow (dag.test), with a query typed in its form."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from airflow.utils.state import DagRunState

from copydicom_provider.jobs.replicate_tags import replicate_tags
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.support.fixtures_orthanc import connection_json, instance_ids, seed

DAG_ID = "copydicom_conditional_replicate"


def connections(monkeypatch, source, destination, splunk_json: str, **destination_extra) -> dict[str, str]:
    """Fresh connection ids per test: Airflow caches connections by id within one process."""
    suffix = uuid.uuid4().hex[:8]
    ids = {
        "source_conn_id": f"src_{suffix}",
        "destination_conn_id": f"research_{suffix}",
        "splunk_conn_id": f"splunk_{suffix}",
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{ids['source_conn_id'].upper()}", connection_json(source))
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{ids['destination_conn_id'].upper()}", connection_json(destination, **destination_extra)
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{ids['splunk_conn_id'].upper()}", splunk_json)
    return ids


@pytest.fixture
def indexed(source, monkeypatch):
    """A source with images and two dose reports, tags indexed; the Splunk connection registered."""
    seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=2, instances_per_series=2))
    reports = []
    for n in range(2):
        dataset, _ = make_ct_dose_sr(seed=20 + n, patient_id=f"P{n}")
        reports.append(source_upload(source, to_bytes(dataset)))
    with SplunkTestServer() as splunk:
        replicate_tags(source.url_with_credentials, splunk.url(index="dicom"))
        yield reports, splunk.connection_json()


def source_upload(server, body: bytes) -> str:
    import requests

    return requests.post(f"{server.url}/instances", data=body, auth=server.auth).json()["ID"]


def test_manual_run_copies_the_selection_then_nothing(dagbag, source, destination, indexed, monkeypatch):
    reports, splunk_json = indexed
    conf = connections(monkeypatch, source, destination, splunk_json)
    dag = dagbag.get_dag(DAG_ID)
    assert dag.params["query"] == 'SeriesDescription="Dose Record"'
    results = []
    for _ in range(2):
        run = dag.test(logical_date=datetime.now(timezone.utc),
                       run_conf={**conf, "query": 'SeriesDescription="Dose Record"', "anonymize": False})
        assert run.state == DagRunState.SUCCESS
        copy = next(ti for ti in run.get_task_instances() if ti.task_id == "copy")
        results.append(copy.xcom_pull(task_ids="copy"))
    assert results[0]["copied"] == 2 and results[1]["copied"] == 0 and results[1]["already_present"] == 2
    assert instance_ids(destination) == set(reports)


def test_manual_run_with_anonymize_uses_the_connections_pseudonym_key(
    dagbag, source, destination, indexed, monkeypatch
):
    reports, splunk_json = indexed
    conf = connections(monkeypatch, source, destination, splunk_json, pseudonym_secret="k-123456")
    run = dagbag.get_dag(DAG_ID).test(logical_date=datetime.now(timezone.utc), run_conf={**conf, "anonymize": True})
    assert run.state == DagRunState.SUCCESS
    landed = instance_ids(destination)
    assert len(landed) == 2 and not landed & set(reports)


def test_a_rejected_query_fails_the_run_without_retrying(dagbag, source, destination, indexed, monkeypatch):
    conf = connections(monkeypatch, source, destination, indexed[1])
    run = dagbag.get_dag(DAG_ID).test(logical_date=datetime.now(timezone.utc),
                                      run_conf={**conf, "query": "Modality=CT | frobnicate"})
    copy = next(ti for ti in run.get_task_instances() if ti.task_id == "copy")
    assert copy.try_number == 1  # Splunk's "unknown command" will not change on a retry
    assert run.state == DagRunState.FAILED and instance_ids(destination) == set()
