"""Ctrl-C (SIGINT) and SIGTERM (``docker stop``, Kubernetes, systemd) on ``copydicom`` copying from a real Orthanc:
one line, exit 130 or 143, no push job or temporary peer left on the source, and a rerun completes the copy once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from copydicom_provider.testing.dicom_generator import generate_studies
from tests.support.fixtures_orthanc import instance_ids, seed

COPYDICOM = str(Path(sys.executable).with_name("copydicom"))
INSTANCES = 300
#: (signal, exit code, what the last line says after "copydicom: interrupted")
STOPS = {"ctrl-c": (signal.SIGINT, 130, ""), "sigterm": (signal.SIGTERM, 143, " by SIGTERM")}


def stored(server) -> int:
    return requests.get(f"{server.url}/statistics", auth=server.auth, timeout=10).json()["CountInstances"]


@pytest.mark.parametrize("stop", list(STOPS))
@pytest.mark.parametrize("mode", ["rest", "peer"])
def test_ctrl_c_or_sigterm_ends_with_one_line_and_its_code_and_the_rerun_copies_the_rest_once(
        source, destination, mode, stop):
    """In peer mode the source's push jobs are cancelled and the temporary peer removed before the exit.
    SIGTERM goes to the process alone, as ``docker stop`` and Kubernetes send it."""
    signal_, code, by = STOPS[stop]
    items = seed(source, generate_studies(patients=3, studies_per_patient=2, series_per_study=2,
                                          instances_per_series=INSTANCES // 12, rows=256, columns=256))
    assert len(items) == INSTANCES
    env = {
        **os.environ,
        "COPYDICOM_SRC": source.url_with_credentials,
        "COPYDICOM_DEST": destination.url_with_credentials,
    }
    command = [COPYDICOM, "replicate", "--max-parallel", "2", "--mode", mode, "--json"]
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120  # start-up of a CLI that imports Airflow, on a loaded machine
        while stored(destination) < 10 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert run.poll() is None, "the copy ended before it could be interrupted"
        run.send_signal(signal_)
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == code, err[-2000:]
    assert "Traceback" not in err and out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"copydicom: interrupted{by} (copied ") and "rerun the same command" in last, last
    landed = stored(destination)
    assert 0 < landed < INSTANCES
    assert not [name for name in requests.get(f"{source.url}/peers", auth=source.auth, timeout=10).json()
                if name.startswith("copydicom-")]
    jobs = requests.get(f"{source.url}/jobs?expand", auth=source.auth, timeout=10).json()
    assert not [job for job in jobs if job["State"] in {"Pending", "Running"}], jobs

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads(rerun.stdout)
    assert (summary["already_present"], summary["copied"]) == (landed, INSTANCES - landed)
    assert instance_ids(destination) == {item.orthanc_id for item in items}


@pytest.mark.parametrize("stop", list(STOPS))
def test_ctrl_c_or_sigterm_on_replicate_tags_with_worker_processes_leaves_no_process_and_the_rerun_indexes_the_rest_once(  # noqa: E501 - docs/guarantees.md cites this name
    source, stop
):
    """Ctrl-C from a terminal, and SIGTERM from systemd, reach the whole process group: the forked record
    workers leave it to their parent and stop with it, which ends with one line and 130 or 143; the rerun
    indexes exactly what is missing."""
    signal_, code, by = STOPS[stop]
    from copydicom_provider.testing.splunk import SplunkTestServer

    items = seed(source, generate_studies(patients=3, studies_per_patient=2, series_per_study=2,
                                          instances_per_series=INSTANCES // 12, rows=256, columns=256))
    with SplunkTestServer() as splunk:
        splunk.slow_hec(1.0)  # the first chunk's send is still under way when Ctrl-C comes
        env = {**os.environ, "COPYDICOM_SRC": source.url_with_credentials,
               "COPYDICOM_INDEX": splunk.url(index="dicom"), "COPYDICOM_RECORD_PROCESSES": "2"}
        command = [COPYDICOM, "replicate-tags", "--json"]
        run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while not _hec_posts(splunk) and run.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert run.poll() is None, "the run ended before it could be interrupted"
            os.killpg(run.pid, signal_)  # as a terminal or systemd does: parent and workers alike
            out, err = run.communicate(timeout=60)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
                run.communicate()
        assert run.returncode == code, err[-2000:]
        assert "Traceback" not in err and out == ""
        assert err.strip().splitlines()[-1].startswith(f"copydicom: interrupted{by}"), err[-500:]
        deadline = time.monotonic() + 10
        while _group_alive(run.pid):
            assert time.monotonic() < deadline, "a record worker outlived the interrupted run"
            time.sleep(0.1)
        indexed = {e.indexed["copydicom_key"] for e in splunk.events}
        assert 0 < len(indexed) < INSTANCES

        splunk.slow_hec(0)
        rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        summary = json.loads(rerun.stdout)
        assert (summary["already_indexed"], summary["sent"]) == (len(indexed), INSTANCES - len(indexed))
        keys = [e.indexed["copydicom_key"] for e in splunk.events]
        assert sorted(keys) == sorted(f"{item.orthanc_id}:instance" for item in items), "each instance once"


def _hec_posts(splunk) -> int:
    return len(
        [r for r in splunk.requests if r.path.rstrip("/") in ("/services/collector", "/services/collector/event")]
    )


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
