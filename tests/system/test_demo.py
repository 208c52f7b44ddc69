"""``make demo`` as a new user sees it: a clean table, no error lines, and where to look at the end.

The demo runs as ``make demo`` runs it (``python -m copydicom_provider.testing.demo``), in a fresh
directory with none of the test suite's Airflow settings, so it sets up its own SQLite home. Then
``make demo-ui`` is started on that state and the places the demo named are opened.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from copydicom_provider.testing.orthanc_server import free_port

REPO = Path(__file__).resolve().parents[2]
JOBS = ("copydicom_replicate", "copydicom_replicate (rerun)", "copydicom_replicate_tags",
        "copydicom_conditional_replicate")
#: What a user must not see on the terminal: Airflow's own lines belong in the demo's log file.
NOISE = re.compile(r"error|warning|traceback|exception|\[info|\[debug|xcom not found", re.IGNORECASE)


def demo_env(**extra: str) -> dict[str, str]:
    """The user's environment: no Airflow or copydicom settings of the test suite's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "COPYDICOM", "_AIRFLOW"))}
    return env | {"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"} | extra


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    where = tmp_path_factory.mktemp("demo")
    done = subprocess.run([sys.executable, "-m", "copydicom_provider.testing.demo"], cwd=where, env=demo_env(),
                          capture_output=True, text=True, timeout=300)
    return where, done


def table_rows(stdout: str) -> dict[str, list[str]]:
    rows = {}
    for line in stdout.splitlines():
        for job in sorted(JOBS, key=len, reverse=True):
            if line.startswith(job + " "):
                rows[job] = line[len(job):].split()
                break
    return rows


def test_the_demo_prints_its_table_cleanly_and_ends_with_where_to_look(demo):
    where, done = demo
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert not done.stderr.strip(), done.stderr[-2000:]
    assert [line for line in lines if NOISE.search(line)] == []
    assert len(lines) < 40, "Airflow's log lines reached the terminal"

    seeded = int(re.search(r"seeded the source with (\d+) generated instances", done.stdout).group(1))
    rows = table_rows(done.stdout)
    # columns: candidates, already, done, [dose_reports], failed, seconds
    assert rows["copydicom_replicate"][:3] == [str(seeded), "0", str(seeded)]
    assert rows["copydicom_replicate (rerun)"][:3] == [str(seeded), str(seeded), "0"]
    assert rows["copydicom_replicate_tags"][:4] == [str(seeded), "0", str(seeded), "3"]
    assert rows["copydicom_conditional_replicate"][:3] == ["3", "0", "3"]
    assert all(row[-2] == "0" for row in rows.values()), rows  # failed
    assert f"the destination holds {seeded} of the source's {seeded} instances" in done.stdout

    ending = done.stdout[done.stdout.index("where to look"):]
    assert "make demo-ui" in ending
    assert len(re.findall(r"http://127\.0\.0\.1:\d+/app/explorer\.html", ending)) == 3
    log = where / ".demo" / "airflow.log"
    assert str(log) in ending and "copydicom_replicate" in log.read_text()


@pytest.mark.services
@pytest.mark.timeout(240)
def test_demo_ui_serves_what_the_demo_said_to_look_at(demo):
    where, done = demo
    assert done.returncode == 0
    explorers = dict(re.findall(r"Orthanc Explorer, (\w+): (http://\S+/app/explorer\.html)", done.stdout))
    port = free_port()
    ui = subprocess.Popen([sys.executable, "-m", "copydicom_provider.testing.demo", "ui"], cwd=where,
                          env=demo_env(COPYDICOM_DEMO_UI_PORT=str(port)), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        ui_line = wait_for_line(ui, "Airflow UI:", 60)
        assert f"http://127.0.0.1:{port}" in ui_line
        config = where / ".demo" / "orthanc-destination" / "orthanc.json"
        import json

        users = json.loads(config.read_text())["RegisteredUsers"]  # where the demo says the password is
        auth = next(iter(users.items()))
        destination = explorers["destination"].removesuffix("/app/explorer.html")
        assert requests.get(explorers["destination"], auth=auth, timeout=10).status_code == 200
        stats = requests.get(f"{destination}/statistics", auth=auth, timeout=10).json()
        seeded = int(re.search(r"seeded the source with (\d+)", done.stdout).group(1))
        assert int(stats["CountInstances"]) == seeded  # the copies the demo made, on their storage
        assert wait_for_http(f"http://127.0.0.1:{port}/api/v2/version", 150).status_code == 200
    finally:
        os.killpg(ui.pid, signal.SIGINT)
        try:
            ui.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)


def wait_for_line(process: subprocess.Popen, marker: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return line
    raise AssertionError(f"{marker!r} not printed: {''.join(seen)[-2000:]}")


def wait_for_http(url: str, timeout: float) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, timeout=5)
        except requests.RequestException:  # noqa: PERF203 - a retry loop: the refusal is the signal to wait
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
