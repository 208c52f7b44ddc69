"""`copydicom dose-report` as a user runs it: the DAG's report, same numbers, from a Splunk URL and the environment."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from copydicom_provider.testing.splunk import SplunkTestServer
from tests.support import dose_report_data as data
from tests.support.dose_report_data import INDEX

COPYDICOM = str(Path(sys.executable).with_name("copydicom"))


@pytest.fixture
def splunk() -> Iterator[SplunkTestServer]:
    with SplunkTestServer() as server:
        yield server


def dose_report(splunk: SplunkTestServer, *args: str) -> subprocess.CompletedProcess:
    """The command with the credentials in the environment, the URL without them, as the docs advise."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("COPYDICOM_")},
           "COPYDICOM_INDEX": f"http://127.0.0.1:{splunk.mgmt_port}?index={INDEX}",
           "COPYDICOM_INDEX_USER": splunk.username, "COPYDICOM_INDEX_PASSWORD": splunk.password}
    return subprocess.run([COPYDICOM, "dose-report", *args], capture_output=True, text=True, timeout=300, env=env)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_command_writes_the_dags_report_with_the_same_numbers(source, splunk, tmp_path):
    seeded = data.seed_quarter(source, splunk)
    events = data.quarter_events(seeded["truths"])

    done = dose_report(splunk, "--quarter", "2025Q1", "--out", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    folder = tmp_path / INDEX / "2025-Q1"
    assert printed["folder"] == str(folder) and printed["summary"] == str(folder / "index.html")
    assert printed["irradiation_events"] == len(events) and printed["counts"]["exams"] == 6
    assert printed["counts"]["localizers"] == sum(1 for e in events if data.is_localizer(e)) == 6

    by_protocol = {(r["protocol"], r["quantity"]): r for r in read_csv(folder / "dose_by_protocol.csv")}
    for quantity in ("CTDIvol", "DLP"):
        expected = data.expected_by_protocol(events, quantity)
        assert {p for p, q in by_protocol if q == quantity} == set(expected)
        for protocol, stats in expected.items():
            assert int(by_protocol[(protocol, quantity)]["count"]) == stats["count"]
            assert float(by_protocol[(protocol, quantity)]["median"]) == pytest.approx(stats["median"], rel=1e-5)
    exams = {r["study_instance_uid"]: r for r in read_csv(folder / "exams.csv")}
    assert {uid: float(r["dlp_total"]) for uid, r in exams.items()} == pytest.approx(data.expected_exam_dlp(events))
    for chart in printed["charts"]:
        assert (folder / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(len(events)) in (folder / "index.html").read_text()
    assert splunk.password not in done.stdout + done.stderr

    # the same window as --since/--until: the same quarter's folder, the same tables
    before = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    window = dose_report(splunk, "--since", "2025-01-01", "--until", "2025-04-01", "--out", str(tmp_path))
    assert window.returncode == 0, window.stderr
    assert window.stdout.startswith(f"dose-report: 2025-Q1 on index {INDEX}: {len(events)} irradiation events")
    assert {p.name: p.read_bytes() for p in folder.glob("*.csv")} == before
    # midnight in Chicago given with its offsets (06:00 and 05:00 UTC), read on Chicago's clock: the same quarter
    zoned = dose_report(splunk, "--since", "2025-01-01T00:00:00-06:00", "--until", "2025-04-01T00:00:00-05:00",
                        "--time-zone", "America/Chicago", "--out", str(tmp_path), "--json")
    assert zoned.returncode == 0, zoned.stderr
    assert json.loads(zoned.stdout)["label"] == "2025-Q1" and json.loads(zoned.stdout)["time_zone"] == "America/Chicago"
    assert {p.name: p.read_bytes() for p in folder.glob("*.csv")} == before
    assert (folder / "report.pdf").read_bytes()[:5] == b"%PDF-" and printed["pdf"] == str(folder / "report.pdf")

    # a reference-level table that cannot be read is a mistake (exit 2), named
    bad = dose_report(splunk, "--quarter", "2025Q1", "--out", str(tmp_path), "--levels", str(tmp_path / "no.csv"))
    assert (bad.returncode, bad.stdout) == (2, "") and "no.csv cannot be read" in bad.stderr


def test_outliers_carry_their_accession_number_and_a_link_to_their_study(source, splunk, tmp_path):
    """--orthanc-url: each outlier links to its study's page in Orthanc Explorer (credentials left out)."""
    import requests

    data.seed_quarter(source, splunk)
    done = dose_report(splunk, "--quarter", "2025Q1", "--out", str(tmp_path), "--outlier-factor", "1.05",
                       "--orthanc-url", source.url_with_credentials)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / INDEX / "2025-Q1"
    rows = read_csv(folder / "outliers.csv")
    assert rows, "a factor of 1.05 over the protocol median flags some events"
    page = (folder / "index.html").read_text()
    for row in rows:
        assert row["accession_number"].startswith("QA"), row
        assert row["study_link"] == f"{source.url}/app/explorer.html#study?uuid={row['orthanc_study_id']}"
        study = requests.get(f"{source.url}/studies/{row['orthanc_study_id']}", auth=source.auth, timeout=30)
        assert study.status_code == 200
        tags = study.json()["MainDicomTags"]
        assert (tags["StudyInstanceUID"], tags["AccessionNumber"]) == (row["study_instance_uid"],
                                                                      row["accession_number"])
    assert f'href="{rows[0]["study_link"]}"' in page.replace("&amp;", "&") and rows[0]["accession_number"] in page
    assert source.password not in page + done.stdout + done.stderr + (folder / "outliers.csv").read_text()

    # without --orthanc-url: the accession number still, no link
    plain = dose_report(splunk, "--quarter", "2025Q1", "--out", str(tmp_path), "--outlier-factor", "1.05")
    assert plain.returncode == 0, plain.stderr
    unlinked = read_csv(folder / "outliers.csv")
    assert [r["accession_number"] for r in unlinked] == [r["accession_number"] for r in rows]
    assert {r["study_link"] for r in unlinked} == {""}

    bad = dose_report(splunk, "--quarter", "2025Q1", "--out", str(tmp_path), "--orthanc-url", "pacs:8042")
    assert (bad.returncode, bad.stdout) == (2, "") and "--orthanc-url must be an http:// or https:// URL" in bad.stderr
