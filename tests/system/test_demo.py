"""``make demo`` as a new user sees it: a clean table, no error lines, and where to look at the end.

The demo runs as ``make demo`` runs it (``python -m copydicom_provider.testing.demo``), in a fresh
directory with none of the test suite's Airflow settings, so it sets up its own SQLite home. Then
``make demo-ui`` is started on that state and tried in headless Chromium as a user would.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from copydicom_provider.testing import demo_ui
from copydicom_provider.testing.orthanc_server import OrthancServer, free_port
from tests.system.test_ui_browser import CHROMIUM, CHROMIUM_ARGS, TEST_BUTTON_TIMEOUT, UI_TIMEOUT

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
@pytest.mark.timeout(480)
def test_demo_ui_runs_a_replicate_triggered_from_its_form(demo):
    """``make demo-ui`` in a browser: log in, Test a connection, trigger replicate from its form, see its totals."""
    where, done = demo
    assert done.returncode == 0
    seeded = int(re.search(r"seeded the source with (\d+)", done.stdout).group(1))
    port = free_port()
    ui = subprocess.Popen([sys.executable, "-m", "copydicom_provider.testing.demo_ui"], cwd=where,
                          env=demo_env(COPYDICOM_DEMO_UI_PORT=str(port)), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        said = wait_for_line(ui, "Airflow UI:", 300)
        ui_line = said.splitlines()[-1]
        assert f"http://127.0.0.1:{port}" in ui_line and "user admin" in ui_line
        password_file = where / ".demo" / "airflow" / "simple_auth_manager_passwords.json.generated"
        assert password_file.relative_to(where).as_posix() in ui_line  # where the password is, not the password
        password = json.loads(password_file.read_text())["admin"]
        assert password not in said
        airflow = demo_ui.demo_airflow(port)
        airflow.log_in(password)
        listed = {c["connection_id"] for c in airflow.api("GET", "connections")["connections"]}
        assert {"orthanc_source", "orthanc_destination", "orthanc_research", "splunk_default"} <= listed

        quiet(airflow, "copydicom_replicate")  # the scheduled run unpausing started: done before the series goes
        destination = orthanc_from(where, "destination", said)
        series, gone = drop_one_series(destination)
        runs = airflow.api("GET", "dags/copydicom_replicate/dagRuns")["dag_runs"]
        assert len({r["logical_date"] for r in runs if r["run_type"] == "manual"}) == 2  # the demo's run and rerun
        before = {r["dag_run_id"] for r in runs}
        run_id = trigger_from_the_form(airflow, password, before)
        state = airflow.wait_for_runs("copydicom_replicate", [run_id], timeout=240)[run_id]["state"]
        assert state == "success"
        totals = airflow.xcom("copydicom_replicate", run_id, "summarize")
        assert (totals["candidates"], totals["copied"], totals["failed"]) == (seeded, len(gone), 0), totals
        see_the_totals(airflow, password, run_id, len(gone))
        back = requests.get(f"{destination.url}/series/{series}/instances", auth=destination.auth, timeout=10).json()
        assert {i["ID"] for i in back} == gone  # really on the destination Orthanc again
        stats = requests.get(f"{destination.url}/statistics", auth=destination.auth, timeout=10).json()
        assert int(stats["CountInstances"]) == seeded
    finally:
        os.killpg(ui.pid, signal.SIGINT)
        try:
            ui.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)


def orthanc_from(where: Path, name: str, said: str) -> OrthancServer:
    """The demo's Orthanc as demo-ui named it: its URL printed, its password in the config file it named."""
    config = where / ".demo" / f"orthanc-{name}" / "orthanc.json"
    line = next(line for line in said.splitlines() if line.startswith(f"Orthanc {name}:"))
    assert config.relative_to(where).as_posix() in line
    (user, password), = json.loads(config.read_text())["RegisteredUsers"].items()
    port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))
    return OrthancServer(config.parent, name=name, http_port=port, username=user, password=password)


def drop_one_series(server: OrthancServer) -> tuple[str, set[str]]:
    """Delete one series from the destination, so that the triggered run has something to copy."""
    series = requests.get(f"{server.url}/series", auth=server.auth, timeout=10).json()[0]
    instances = requests.get(f"{server.url}/series/{series}/instances", auth=server.auth, timeout=10).json()
    requests.delete(f"{server.url}/series/{series}", auth=server.auth, timeout=10).raise_for_status()
    return series, {i["ID"] for i in instances}


def quiet(airflow: demo_ui.DemoAirflow, dag_id: str, timeout: float = 180) -> None:
    """Wait until the scheduler created what was due (next run in the future) and no run is unfinished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dag = airflow.api("GET", f"dags/{dag_id}")
        runs = airflow.api("GET", f"dags/{dag_id}/dagRuns", params={"state": ["queued", "running"]})["dag_runs"]
        due = dag["next_dagrun_run_after"]
        if not runs and due and datetime.fromisoformat(due.replace("Z", "+00:00")) > datetime.now(timezone.utc):
            return
        time.sleep(2)
    raise AssertionError(f"{dag_id} still busy after {timeout:g} s")


@contextlib.contextmanager
def logged_in_page(airflow: demo_ui.DemoAirflow, password: str):
    """Headless Chromium on the UI, through the simple auth manager's login page."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US").new_page()
            page.set_default_timeout(UI_TIMEOUT)
            expect.set_options(timeout=UI_TIMEOUT)
            page.goto(airflow.url)
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
            yield page
        finally:
            browser.close()


def press_test_on(page, airflow: demo_ui.DemoAirflow, conn_id: str) -> None:
    """Admin > Connections lists the demo's connection (it is in the database), and its Test answers."""
    from playwright.sync_api import expect

    page.goto(f"{airflow.url}/connections")
    row = page.get_by_role("row").filter(has_text=conn_id)
    row.get_by_role("button", name="Test Connection").click()
    answer = page.get_by_role("status").filter(has_text="Test Connection Successful").last
    expect(answer).to_be_visible(timeout=TEST_BUTTON_TIMEOUT)
    expect(answer).to_contain_text("Connected to Orthanc")


def trigger_from_the_form(airflow: demo_ui.DemoAirflow, password: str, before: set[str]) -> str:
    """Open replicate's trigger form, submit it with its defaults; the id of the run it made."""
    from playwright.sync_api import expect

    with logged_in_page(airflow, password) as page:
        press_test_on(page, airflow, "orthanc_destination")
        page.goto(f"{airflow.url}/dags/copydicom_replicate")
        page.get_by_role("button", name="Trigger Dag").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("Trigger Dag - copydicom_replicate")).to_be_visible()
        expect(dialog.locator("input[name=element_destination_conn_id]")).to_have_value("orthanc_destination")
        dialog.get_by_role("button", name="Trigger", exact=True).click()
        expect(page.get_by_text("Dag Run Triggered").first).to_be_visible()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = [r["dag_run_id"] for r in airflow.api("GET", "dags/copydicom_replicate/dagRuns")["dag_runs"]
               if r["dag_run_id"] not in before and r["run_type"] == "manual"]
        if new:
            assert len(new) == 1, new
            return new[0]
        time.sleep(1)
    raise AssertionError("the form's Trigger made no run")


def see_the_totals(airflow: demo_ui.DemoAirflow, password: str, run_id: str, copied: int) -> None:
    """The run's summary line in the summarize task's log view: the task logs are there and served."""
    from playwright.sync_api import expect

    with logged_in_page(airflow, password) as page:
        page.goto(f"{airflow.url}/dags/copydicom_replicate/runs/{run_id}/tasks/summarize")
        expect(page.get_by_text(re.compile(rf"summary: .*copied {copied}\b")).first).to_be_visible()
        text = page.locator("body").inner_text()
        assert password not in text


def wait_for_line(process: subprocess.Popen, marker: str, timeout: float) -> str:
    """Everything the process printed up to the first line holding ``marker``."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} not printed: {''.join(seen)[-2000:]}")
