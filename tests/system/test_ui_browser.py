"""The Airflow UI in a real browser: our connection form, its Test button, our DAGs' trigger forms.

Debian's Chromium (``apt-get install chromium``, see the Makefile) is driven headless by the
``playwright`` package's bundled driver; no browser is downloaded (never ``playwright install``).
Chromium gets flags that keep it off the network; the UI is served on loopback by
``AirflowServices`` (simple auth manager, every user an admin: no login page).

Screenshots go to a temporary folder; ``make screenshots`` (``COPYDICOM_SCREENSHOTS=docs``) refreshes the
README's copies in ``docs/``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from pathlib import Path

import pytest
import requests

from copydicom_provider.testing.airflow_services import AirflowServices
from copydicom_provider.testing.orthanc_server import OrthancServer
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.services

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; Playwright only drives it
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = (
    REPO_ROOT / os.environ["COPYDICOM_SCREENSHOTS"]
    if os.environ.get("COPYDICOM_SCREENSHOTS")
    else Path(tempfile.mkdtemp(prefix="copydicom-screenshots-"))
)
DAGS = REPO_ROOT / "dags"
CONN_ID = "orthanc_ui"
#: Bounded waits (ms): the UI is a single-page app over a busy 2-core machine.
UI_TIMEOUT = 30_000
TEST_BUTTON_TIMEOUT = 45_000


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    server = OrthancServer(tmp_path_factory.mktemp("ui-orthanc"), name="ui-orthanc").start()
    yield server
    server.stop(kill=True)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    services = AirflowServices(tmp_path_factory.mktemp("ui-airflow-home"), DAGS)
    services.start()
    try:
        yield services
    finally:
        services.stop()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright import sync_api
    except ImportError:  # a hard failure, not a skip: CI must run this test
        pytest.fail("playwright is missing: `make venv` installs the test extras (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make deps` installs Debian's chromium")
    with sync_api.sync_playwright() as playwright:
        # launch() gives the browser a fresh, throw-away user-data-dir.
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    context.set_default_timeout(UI_TIMEOUT)
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT)
    page = context.new_page()
    yield page
    context.close()


def visible_text(page) -> str:
    return page.locator("body").inner_text()


def assert_no_secret(page, *secret_values: str) -> None:
    """No password in what the page shows (checked before each screenshot)."""
    text = visible_text(page)
    leaked = any(value and value in text for value in secret_values)
    assert not leaked, "a password is visible on the page"


def toast(page, title: str):
    """The toast with this title (the UI shows the Test result as a toast, title + message)."""
    return page.get_by_role("status").filter(has_text=title).last


def settle(page, ms: int = 800) -> None:
    """Let an animation (dialog, toast) finish before a screenshot."""
    page.wait_for_timeout(ms)


# --------------------------------------------------------------------------- connection form
def test_orthanc_connection_form_and_test_button(page, airflow, orthanc):
    from playwright.sync_api import expect

    wrong_password = "wrong-" + secrets.token_hex(8)
    system = requests.get(f"{orthanc.url}/system", auth=orthanc.auth, timeout=10).json()

    page.goto(f"{airflow.url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Add Connection")).to_be_visible()
    dialog.get_by_label("Connection ID").fill(CONN_ID)
    conn_type = dialog.get_by_role("combobox")
    conn_type.click()
    conn_type.fill("orthanc")
    page.get_by_role("option", name="Orthanc", exact=True).click()

    # Standard fields, relabelled by our ui-field-behaviour; schema is hidden.
    expect(dialog.get_by_label("Orthanc URL or host")).to_be_visible()
    expect(dialog.get_by_label("Schema")).to_have_count(0)
    dialog.get_by_label("Orthanc URL or host").fill("127.0.0.1")
    dialog.get_by_label("Username").fill(orthanc.username)
    dialog.get_by_label("Password").fill(orthanc.password)
    dialog.get_by_label("Port").fill(str(orthanc.http_port))

    # Our conn-fields, with their defaults.
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    expect(dialog.get_by_text("Verify TLS certificate")).to_be_visible()
    expect(dialog.get_by_text("Timeout (seconds)")).to_be_visible()
    expect(dialog.get_by_text("Max parallel requests")).to_be_visible()
    expect(dialog.get_by_text("Upper bound on concurrent requests")).to_be_visible()
    verify = dialog.locator("input[name=element_verify]")
    timeout = dialog.locator("input[name=element_timeout]")
    max_parallel = dialog.locator("input[name=element_max_parallel]")
    expect(verify).to_be_checked()
    expect(timeout).to_have_value("60")
    expect(max_parallel).to_have_value("4")
    max_parallel.fill("2")
    settle(page)
    assert_no_secret(page, orthanc.password)
    dialog.screenshot(path=str(DOCS / "ui-connection-form.png"))

    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    row = page.get_by_role("row").filter(has_text=CONN_ID)
    expect(row).to_be_visible()
    saved = airflow.api("GET", f"connections/{CONN_ID}")
    assert saved["conn_type"] == "orthanc" and saved["port"] == orthanc.http_port
    extra = json.loads(saved["extra"])
    assert extra.get("max_parallel") == 2 and extra.get("verify") is True and extra.get("timeout") == 60, extra

    # Test: answered by OrthancHook.test_connection() against the real server.
    row.get_by_role("button", name="Test Connection").click()
    success = toast(page, "Test Connection Successful")
    expect(success).to_be_visible(timeout=TEST_BUTTON_TIMEOUT)
    expect(success).to_contain_text(f"Connected to Orthanc '{orthanc.name}', version {system['Version']}")
    expect(success).to_contain_text(orthanc.url)
    settle(page)
    assert_no_secret(page, orthanc.password)
    page.screenshot(path=str(DOCS / "ui-connection-test.png"))
    page.reload()  # drop the toast: the next one must be the next Test's

    # A wrong password: the Test answers why, and shows no password.
    row = page.get_by_role("row").filter(has_text=CONN_ID)
    row.get_by_role("button", name="Edit Connection").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Edit Connection")).to_be_visible()
    dialog.get_by_label("Password").fill(wrong_password)
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    row.get_by_role("button", name="Test Connection").click()
    failure = toast(page, "Test Connection Failed")
    expect(failure).to_be_visible(timeout=TEST_BUTTON_TIMEOUT)
    message = failure.inner_text()
    assert re.search(r"401|unauthori[sz]ed|credential|password|refused", message, re.IGNORECASE), message
    assert orthanc.url in message or "127.0.0.1" in message, message
    leaked = wrong_password in message or orthanc.password in message
    assert not leaked, "the Test answer shows a password"
    settle(page)
    assert_no_secret(page, wrong_password, orthanc.password)
    page.screenshot(path=str(DOCS / "ui-connection-test-failed.png"))


# --------------------------------------------------------------------------- trigger forms
def copydicom_dags(airflow: AirflowServices, timeout: float = 120) -> list[str]:
    """The DAG ids of every ``dags/copydicom_*.py`` once the dag-processor parsed them all."""
    import time

    files = {path.name for path in DAGS.glob("copydicom_*.py")}
    assert files, "no copydicom DAG files"
    deadline = time.monotonic() + timeout
    while True:
        dags = airflow.api("GET", "dags", params={"dag_id_pattern": "copydicom_", "limit": 100})["dags"]
        parsed = {Path(d.get("relative_fileloc") or d.get("fileloc") or "").name for d in dags}
        if files <= parsed:
            return sorted(d["dag_id"] for d in dags if Path(d.get("relative_fileloc") or "").name in files)
        errors = airflow.api("GET", "importErrors")["import_errors"]
        broken = [e for e in errors if Path(e["filename"]).name in files]
        assert not broken, f"DAG files failed to import: {broken}"
        assert time.monotonic() < deadline, f"not parsed within {timeout:g} s: {sorted(files - parsed)}"
        time.sleep(1)


def test_trigger_forms_show_typed_params(page, airflow):
    from playwright.sync_api import expect

    dag_ids = copydicom_dags(airflow)
    assert "copydicom_replicate" in dag_ids
    page.set_viewport_size({"width": 1400, "height": 2400})  # the whole form in one screenshot
    for dag_id in dag_ids:
        params = airflow.api("GET", f"dags/{dag_id}/details")["params"]
        assert params, f"{dag_id} has no Params"
        page.goto(f"{airflow.url}/dags/{dag_id}")
        page.get_by_role("button", name="Trigger Dag").click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text(f"Trigger Dag - {dag_id}")).to_be_visible()
        expect(dialog.get_by_role("button", name="Run Parameters")).to_be_visible()
        for name, param in params.items():
            title = param["schema"].get("title") or name
            label = dialog.locator("label").filter(has_text=re.compile(rf"^\s*{re.escape(title)}\s*\*?\s*$"))
            expect(label, f"{dag_id}: param {name}").to_be_visible()  # "*" marks a required one
            if param.get("description"):
                expect(dialog.get_by_text(param["description"], exact=True), f"{dag_id}: {name}").to_be_visible()
        if dag_id == "copydicom_replicate":
            check_replicate_field_kinds(page, dialog, expect)
            settle(page)
            dialog.screenshot(path=str(DOCS / "ui-trigger-form.png"))
        dialog.get_by_role("button", name="Close").click()
        expect(dialog).to_be_hidden()
    # Only forms were opened: nothing was triggered.
    runs = airflow.api("GET", "dags/~/dagRuns", params={"limit": 10})["dag_runs"]
    assert not runs, runs


def check_replicate_field_kinds(page, dialog, expect) -> None:
    """The typed Params render as typed widgets: text, enum select, date-time, date, switches."""
    expect(dialog.locator("input[name=element_source_conn_id]")).to_have_value("orthanc_source")
    expect(dialog.locator("input[name=element_destination_conn_id]")).to_have_value("orthanc_destination")
    expect(dialog.locator("input[name=element_window]")).to_have_value("received")  # enum: a select
    expect(dialog.get_by_text("received", exact=True)).to_be_visible()
    expect(dialog.locator("input[name=element_mode]")).to_have_value("rest")
    expect(dialog.get_by_text("Select date and time", exact=True)).to_have_count(2)  # since, until: date-time pickers
    for name in ("study_date_from", "study_date_to"):
        expect(dialog.locator(f"input[name=element_{name}]")).to_have_attribute("type", "date")
    for name in ("dry_run", "verify"):
        switch = dialog.locator(f"input[name=element_{name}]")
        expect(switch).to_have_attribute("type", "checkbox")
        expect(switch).not_to_be_checked()


# --------------------------------------------------------------------------- run totals
def test_run_totals_are_visible_where_people_look(page, airflow, orthanc, tmp_path):
    """A run's summary line in the summarize task's log view, and each batch's counts as its label."""
    from playwright.sync_api import expect

    from copydicom_provider.testing.dicom_generator import generate_studies
    from tests.support.fixtures_orthanc import seed

    items = seed(orthanc, generate_studies(patients=1, studies_per_patient=2, series_per_study=1,
                                           instances_per_series=3, seed=31))
    destination = OrthancServer(tmp_path / "ui-destination", name="ui-destination").start()
    try:
        for conn_id, server in (("ui_src", orthanc), ("ui_dst", destination)):
            airflow.api("POST", "connections", json={
                "connection_id": conn_id, "conn_type": "orthanc", "host": "127.0.0.1", "port": server.http_port,
                "login": server.username, "password": server.password})
        airflow.unpause("copydicom_replicate")
        run = airflow.api("POST", "dags/copydicom_replicate/dagRuns", json={
            "dag_run_id": "ui-totals", "logical_date": None,
            "conf": {"source_conn_id": "ui_src", "destination_conn_id": "ui_dst", "window": "all"}})
        state = airflow.wait_for_runs("copydicom_replicate", [run["dag_run_id"]], timeout=240)
        assert state["ui-totals"]["state"] == "success"
        expected = f"copied {len(items)}"

        page.goto(f"{airflow.url}/dags/copydicom_replicate/runs/ui-totals/tasks/summarize")
        expect(page.get_by_text(re.compile(rf"summary: .*{expected}")).first).to_be_visible()
        settle(page)
        assert_no_secret(page, orthanc.password, destination.password)
        page.screenshot(path=str(DOCS / "ui-run-summary.png"))

        page.goto(f"{airflow.url}/dags/copydicom_replicate/runs/ui-totals/tasks/copy/mapped")
        expect(page.get_by_text(f"{expected}, 0 present").first).to_be_visible()
        settle(page)
        page.screenshot(path=str(DOCS / "ui-batch-labels.png"))
    finally:
        airflow.api("PATCH", "dags/copydicom_replicate", json={"is_paused": True})
        destination.stop(kill=True)
