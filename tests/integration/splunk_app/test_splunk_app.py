"""The Splunk app: AppInspect (precert) passes; every search uses fields our records really carry;
the searches within the stand-in's SPL run against it on records replicate-tags sent, with the right numbers."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tomllib

from copydicom_provider.hooks.splunk import SplunkHook
from copydicom_provider.reports.fields import QUANTITIES, QUANTITY_BY_KEY
from copydicom_provider.reports.reference_levels import PACKAGED, packaged_text, parse_reference_table
from copydicom_provider.testing.orthanc_server import OrthancServer
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.conftest import REPO_ROOT
from tests.support.dose_report_data import INDEX, quarter_events, seed_quarter

APP = REPO_ROOT / "splunk_app" / "copydicom"
APPINSPECT = REPO_ROOT / ".venv-appinspect" / "bin" / "splunk-appinspect"
#: The stand-in's SPL subset (copydicom_provider/testing/splunk/); a search using only these runs against it.
STAND_IN_COMMANDS = {"search", "fields", "table", "dedup", "head", "stats", "rename", "fillnull", "sort", "mvexpand"}
STAND_IN_STATS = {"count", "avg", "max", "min", "sum", "median"}
SPL_KEYWORDS = {"AS", "BY", "AND", "OR", "NOT", "IN", "OVER", "OUTPUT", "OUTPUTNEW"}


# --------------------------------------------------------------------------- reading the app
def read_conf(path: Path) -> dict[str, dict[str, str]]:
    """A Splunk .conf file: stanzas of key = value, a trailing backslash continues the value."""
    stanzas: dict[str, dict[str, str]] = {}
    current: dict[str, str] = stanzas.setdefault("default", {})
    key = None
    continued = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if continued and key is not None:
            current[key] += "\n" + line.rstrip("\\").strip()
            continued = line.endswith("\\")
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stanzas.setdefault(stripped[1:-1], {})
            continue
        key, _, value = stripped.partition("=")
        key = key.strip()
        current[key] = value.strip().rstrip("\\").strip()
        continued = stripped.endswith("\\")
    return stanzas


def macros() -> dict[str, str]:
    return {name: body["definition"] for name, body in read_conf(APP / "default" / "macros.conf").items()
            if "definition" in body}


def expand(spl: str, defined: dict[str, str]) -> str:
    """Expand `macro` references the way Splunk does before running a search."""
    for _ in range(10):
        spl, count = re.subn(r"`([A-Za-z0-9_]+)`", lambda m: defined[m.group(1)], spl)
        if not count:
            return " ".join(spl.split())
    raise AssertionError("macros nest too deep")


def searches() -> dict[str, str]:
    """Every search of the app, expanded: saved searches, dashboard queries, event types."""
    defined = macros()
    found = {
        f"saved: {name}": body["search"]
        for name, body in read_conf(APP / "default" / "savedsearches.conf").items()
        if "search" in body
    }
    for view in sorted((APP / "default" / "data" / "ui" / "views").glob("*.xml")):
        for number, query in enumerate(re.findall(r"<query>(.*?)</query>", view.read_text(encoding="utf-8"), re.S)):
            found[f"{view.stem} query {number}"] = query.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    for name, body in read_conf(APP / "default" / "eventtypes.conf").items():
        if "search" in body:
            found[f"eventtype: {name}"] = (
                f"`copydicom_index` {body['search']}"  # an event type filters the index's events
            )
    return {name: expand(spl, defined) for name, spl in found.items()}


def record_type(spl: str) -> str | None:
    kinds = set(re.findall(r"\bRecordType=(\w+)", spl))
    assert len(kinds) <= 1, spl
    return kinds.pop() if kinds else None


def field_names(spl: str) -> set[str]:
    """Record fields a search reads: CamelCase names outside quotes (our own fields are lower case)."""
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', " ", spl)
    return {name for name in re.findall(r"(?<![\w.$%])([A-Z][A-Za-z0-9]*(?:_[a-z]+)?)\b", unquoted)
            if name not in SPL_KEYWORDS}


def stand_in_can_run(spl: str) -> bool:
    parts = [p.strip() for p in re.split(r'\|(?=(?:[^"]*"[^"]*")*[^"]*$)', spl)]
    commands = [p.split(None, 1)[0].lower() for p in parts[1:] if p]
    if (
        parts[0].startswith("|")
        or not set(commands) <= STAND_IN_COMMANDS
        or re.search(r"[()<>!]|\bOR\b|\bNOT\b", parts[0])
    ):
        return False
    for part in parts[1:]:
        if part.lower().startswith("stats"):
            if not {f.lower() for f in re.findall(r"(\w+)\(", part)} <= STAND_IN_STATS:
                return False
    return True


def documented_projection_keys() -> set[str]:
    """Keys docs/dose-records.md lists for projection X-ray events (no generator makes those yet)."""
    text = (REPO_ROOT / "docs" / "dose-records.md").read_text(encoding="utf-8")
    heading = "### Projection X-ray irradiation event"
    assert heading in text, f"docs/dose-records.md has no {heading!r} section listing the projection event keys"
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    keys = set(re.findall(r"\| `([A-Za-z0-9]+)` \|", section))
    return keys | {k + "_unit" for k in keys} | {k + "_code" for k in keys}


# --------------------------------------------------------------------------- records from replicate-tags
@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Iterator[tuple[SplunkTestServer, dict]]:
    """Generated dose SRs and images in a real Orthanc, sent to the stand-in by replicate-tags."""
    source = OrthancServer(tmp_path_factory.mktemp("app-source"), name="source").start()
    try:
        with SplunkTestServer() as splunk:
            yield splunk, seed_quarter(source, splunk)
    finally:
        source.stop(kill=True)


def record_keys(splunk: SplunkTestServer) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {}
    for event in splunk.events:
        record = json.loads(event.raw)
        keys.setdefault(record["RecordType"], set()).update(record)
    return keys


def test_every_search_reads_only_fields_the_records_carry(indexed):
    splunk, _ = indexed
    carried = record_keys(splunk)
    assert {"instance", "dose_report", "irradiation_event"} <= set(carried)
    carried["irradiation_event"] |= documented_projection_keys()
    found = searches()
    assert len(found) >= 20
    checked = 0
    for name, spl in found.items():
        fields = field_names(spl) - {"RecordType"}
        kind = record_type(spl)
        if kind is None:
            assert not fields, f"{name} reads {fields} without naming a RecordType"
            continue
        missing = fields - carried[kind]
        assert not missing, f"{name}: {sorted(missing)} are not fields of {kind} records"
        checked += 1
    assert checked >= 18
    # every dose search counts each irradiation event once
    for name, spl in found.items():
        if record_type(spl) == "irradiation_event" and not name.startswith("eventtype"):
            assert "| dedup IrradiationEventUID" in spl, name
    # the check can fail: a misspelt field is caught
    assert field_names(expand("`copydicom_dose_events` | stats avg(CTDIVol)", macros())) - carried[
        "irradiation_event"
    ] == {"CTDIVol"}


def test_the_app_shows_each_dose_quantity_in_the_reports_unit_and_factor():
    """The app's one-row-per-quantity macro and its level lookup show values as the quarterly report does
    (reports.fields: DAP in Gy.cm2, records in Gy.m2), and filter on the unit the records carry."""
    values = " ".join(macros()["copydicom_dose_values"].split())
    levels = " ".join(macros()["copydicom_reference_level"].split())
    doses = [q for q in QUANTITIES if q.dose]  # a patient size is no dose: kept out of the dose rows and outliers
    assert "WaterEquivalentDiameter" not in values
    for quantity in doses:
        assert f'{quantity.unit_key}="{quantity.unit}"' in values, quantity.key
        factor = quantity.display_factor
        shown = quantity.key if factor == 1 else f"{quantity.key} * {factor:g}"
        assert re.search(rf'quantity="{quantity.key}", {re.escape(shown)}[,)]', values), (quantity.key, shown)
        if factor != 1:
            assert f'quantity="{quantity.key}", "{quantity.shown_unit}"' in values, quantity.key
            assert f'national_level=if(quantity="{quantity.key}", national_level * {factor:g}, national_level)' \
                in levels, quantity.key
    default_unit = re.search(r'true\(\), "([^"]+)"\)', values)
    assert default_unit is not None
    for quantity in doses:
        if f'quantity="{quantity.key}", "' not in values:
            assert quantity.shown_unit == default_unit.group(1), quantity.key
    dashboard = (APP / "default" / "data" / "ui" / "views" / "copydicom_dose_by_protocol.xml").read_text()
    assert f"DAP (fluoroscopy, radiography; {QUANTITY_BY_KEY['DoseAreaProduct'].shown_unit})" in dashboard


def test_the_searches_the_stand_in_implements_run_against_it(indexed):
    splunk, seeded = indexed
    hook = SplunkHook.from_url(splunk.url(index=INDEX))
    runnable = {name: spl for name, spl in searches().items() if stand_in_can_run(spl)}
    assert {
        "saved: copydicom - CT dose by protocol",
        "saved: copydicom - CT dose by protocol and scanner",
        "saved: copydicom - Irradiation events per scanner",
        "saved: copydicom - Studies per modality",
    } <= set(runnable)
    results = {name: list(hook.search(spl, earliest_time="0")) for name, spl in runnable.items()}
    assert all(results.values()), [name for name, rows in results.items() if not rows]

    events = {e["irradiation_event_uid"]: e for e in quarter_events(seeded["truths"])}
    april = seeded["truths"][-1]  # all time here: April's report counts too
    for event in april["events"]:
        events[event["irradiation_event_uid"]] = event | {"station": april["station"]}
    by_protocol = {row["AcquisitionProtocol"]: row for row in results["saved: copydicom - CT dose by protocol"]}
    for protocol in {e["acquisition_protocol"] for e in events.values()}:
        ctdi = sorted(
            e["ctdivol"] for e in events.values() if e["acquisition_protocol"] == protocol and e["ctdivol"] is not None
        )
        dlp = sorted(
            e["dlp"] for e in events.values() if e["acquisition_protocol"] == protocol and e["dlp"] is not None
        )
        row = by_protocol[protocol]
        assert int(row["events"]) == len(ctdi)
        assert float(row["mean_ctdivol"]) == pytest.approx(np.mean(ctdi))
        assert float(row["max_dlp"]) == pytest.approx(max(dlp))
        assert float(row["median_dlp"]) == pytest.approx(dlp[len(dlp) // 2])  # Splunk: the upper middle value
    per_scanner = {
        row["StationName"]: int(row["events"]) for row in results["saved: copydicom - Irradiation events per scanner"]
    }
    assert per_scanner == {s: sum(1 for e in events.values() if e["station"] == s) for s in ("CT1", "CT2")}
    modalities = {row["Modality"]: int(row["studies"]) for row in results["saved: copydicom - Studies per modality"]}
    images = {(i.dataset.Modality, i.dataset.StudyInstanceUID) for i in seeded["images"]}
    assert modalities["SR"] == len(seeded["truths"]) and modalities["CT"] == sum(1 for m, _ in images if m == "CT")


# --------------------------------------------------------------------------- package and AppInspect
def test_the_package_holds_the_app_and_the_providers_reference_table(tmp_path):
    from splunk_app.build import build

    archive = build(tmp_path / "copydicom.tgz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        lookup = tar.extractfile("copydicom/lookups/dose_reference_levels.csv").read().decode()
        app_conf = tar.extractfile("copydicom/default/app.conf").read().decode()
        template = tar.extractfile("copydicom/lookups/dose_reference_levels_template.csv").read().decode()
    assert all(n == "copydicom" or n.startswith("copydicom/") for n in names)
    assert not [n for n in names if "/." in n or n.endswith(".pyc")]
    assert lookup == packaged_text()
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert re.search(rf"^version = {re.escape(version)}$", app_conf, re.M)
    table = parse_reference_table(lookup, PACKAGED)
    assert table.levels and all(level.source and "Open Government Licence" in level.source for level in table.levels)
    header = next(csv.reader(io.StringIO(lookup)))
    assert template.splitlines() == [",".join(header)]  # the empty table to fill in
    transforms = read_conf(APP / "default" / "transforms.conf")["dose_reference_levels"]
    assert transforms["filename"] == "dose_reference_levels.csv" and "national_level" in header
    assert build(tmp_path / "again.tgz").read_bytes() == archive.read_bytes()  # reproducible


def appinspect_binary() -> Path:
    if not APPINSPECT.exists():
        try:
            subprocess.run(["make", "appinspect-venv"], cwd=REPO_ROOT, check=True, timeout=600,
                           capture_output=True, text=True)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            pytest.skip(f"splunk-appinspect's venv could not be built (make appinspect-venv): {exc}")
    return APPINSPECT


def test_appinspect_precert_finds_no_failure_and_no_error(tmp_path):
    from splunk_app.build import build

    binary = appinspect_binary()
    archive = build(tmp_path / "copydicom.tgz")
    report = tmp_path / "appinspect.json"
    run = subprocess.run([str(binary), "inspect", str(archive), "--mode", "precert", "--data-format", "json",
                          "--output-file", str(report)], capture_output=True, text=True, timeout=600)
    assert report.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    summary = json.loads(report.read_text())["summary"]
    assert summary["failure"] == 0 and summary["error"] == 0, summary
    assert summary["success"] > 50
