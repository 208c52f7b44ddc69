"""copydicom_dose_report under Airflow's own scheduler: one backfill reports last year's four quarters.

Dose reports dated in each quarter of 2025 go through a real Orthanc and replicate-tags into the
Splunk stand-in; api-server, scheduler and dag-processor (SQLite, LocalExecutor) then run a
backfill created through the CLI, as an operator would.
"""

from __future__ import annotations

import csv
import json
import time
from datetime import date
from datetime import time as clock

import pytest
import requests

from copydicom_provider.jobs.replicate_tags import replicate_tags
from copydicom_provider.testing.airflow_services import AirflowServices
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.orthanc_server import OrthancServer
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.conftest import REPO_ROOT
from tests.support.dose_report_data import is_localizer

pytestmark = pytest.mark.services
DAG_ID = "copydicom_dose_report"
QUARTERS = {"2025-Q1": date(2025, 2, 10), "2025-Q2": date(2025, 5, 12), "2025-Q3": date(2025, 8, 11),
            "2025-Q4": date(2025, 11, 10)}


@pytest.fixture(scope="module")
def splunk(tmp_path_factory):
    """One report per quarter (Q2 has two), indexed by replicate-tags."""
    source = OrthancServer(tmp_path_factory.mktemp("dr-source"), name="source").start()
    truths = {}
    try:
        with SplunkTestServer() as server:
            for number, (label, day) in enumerate(QUARTERS.items()):
                for extra in range(2 if label == "2025-Q2" else 1):
                    ds, truth = make_ct_dose_sr(seed=40 + number * 2 + extra, patient_id=f"B{number}{extra}",
                                                accession_number=f"BA{number}{extra}", study_date=day,
                                                study_time=clock(9, extra))
                    requests.post(f"{source.url}/instances", data=to_bytes(ds), auth=source.auth,
                                  timeout=30).raise_for_status()
                    truths.setdefault(label, []).append(truth)
            assert replicate_tags(source.url_with_credentials, server.url(index="dicom")).failed == 0
            yield server, truths
    finally:
        source.stop(kill=True)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory, splunk):
    server, _ = splunk
    connection = {"conn_type": "splunk", "host": "127.0.0.1", "port": server.mgmt_port, "login": server.username,
                  "password": server.password, "extra": {"scheme": "http", "index": "dicom"}}
    reports = tmp_path_factory.mktemp("reports")
    services = AirflowServices(tmp_path_factory.mktemp("airflow-home"), REPO_ROOT / "dags", env_extra={
        "AIRFLOW_CONN_SPLUNK_DEFAULT": json.dumps(connection), "COPYDICOM_REPORT_DIR": str(reports)})
    services.start()
    try:
        services.wait_for_dag(DAG_ID)
        services.unpause(DAG_ID)
        yield services, reports
    finally:
        services.stop()


def test_one_backfill_reports_last_years_four_quarters(airflow, splunk):
    services, reports = airflow
    _, truths = splunk
    services.create_backfill(DAG_ID, "2025-01-01", "2025-12-31")
    deadline = time.monotonic() + 420
    while True:
        runs = services.api("GET", f"dags/{DAG_ID}/dagRuns", params={"limit": 100, "run_type": "backfill"})["dag_runs"]
        if len(runs) >= 4 and all(r["state"] in {"success", "failed"} for r in runs):
            break
        assert time.monotonic() < deadline, [(r["data_interval_start"], r["state"]) for r in runs]
        time.sleep(3)
    starts = sorted(r["data_interval_start"][:10] for r in runs)
    assert starts == ["2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01"], starts
    assert [r["state"] for r in runs] == ["success"] * 4, runs
    for label, quarter_truths in truths.items():
        folder = reports / "dicom" / label
        rows = list(csv.DictReader((folder / "dose_by_protocol.csv").open()))
        scans = sum(1 for t in quarter_truths for e in t["events"] if not is_localizer(e))
        assert sum(int(r["count"]) for r in rows if r["quantity"] == "CTDIvol") == scans, label  # localizers apart
        assert (folder / "index.html").exists() and (folder / "distribution_DLP.png").exists()
    run = sorted(runs, key=lambda r: r["data_interval_start"])[1]
    result = services.xcom(DAG_ID, run["dag_run_id"], "write")
    result = json.loads(result) if isinstance(result, str) else result
    assert result["label"] == "2025-Q2" and result["counts"]["irradiation_events"] == sum(
        len(t["events"]) for t in truths["2025-Q2"])
