"""The copydicom_dose_report DAG run by Airflow (dag.test) against the Splunk stand-in, fed by replicate-tags."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pypdf
import pytest
from airflow.utils.state import DagRunState

from copydicom_provider.testing.splunk import SplunkTestServer
from tests.support.dose_report_data import (
    INDEX,
    SIZE_STATION,
    UNMAPPED_SEED,
    expected_by_protocol,
    expected_exam_dlp,
    is_localizer,
    quarter_events,
    seed_quarter,
)

DAG_ID = "copydicom_dose_report"
Q1_START = datetime(2025, 1, 1, tzinfo=timezone.utc)
#: dag.test() of a manual run at this moment covers the last complete quarter: Q1 2025.
AFTER_Q1 = datetime(2025, 4, 1, tzinfo=timezone.utc)


@pytest.fixture
def splunk(monkeypatch) -> Iterator[SplunkTestServer]:
    with SplunkTestServer() as server:
        connection = {
            "conn_type": "splunk", "host": "127.0.0.1", "port": server.mgmt_port,
            "login": server.username, "password": server.password,
            "extra": {"scheme": "http", "hec_port": server.hec_port, "hec_token": server.hec_token, "index": INDEX},
        }
        monkeypatch.setenv("AIRFLOW_CONN_SPLUNK_DEFAULT", json.dumps(connection))
        yield server


def run(dag, logical_date, conf):
    dag_run = dag.test(logical_date=logical_date, run_conf=conf)
    assert dag_run.state == DagRunState.SUCCESS, dag_run.state
    write = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "write")
    return write.xcom_pull(task_ids="write")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_dag_has_a_quarterly_interval_and_a_params_form(dagbag):
    dag = dagbag.get_dag(DAG_ID)
    assert set(dag.task_ids) == {"search", "compute", "write"}
    assert dag.timetable.summary == "0 0 1 */3 *"
    interval = dag.timetable.infer_manual_data_interval(run_after=datetime(2025, 5, 10, tzinfo=timezone.utc))
    # a run triggered in May reports the last complete quarter
    assert (interval.start, interval.end) == (
        datetime(2025, 1, 1, tzinfo=timezone.utc),
        datetime(2025, 4, 1, tzinfo=timezone.utc),
    )
    assert {"splunk_conn_id", "index", "quarter", "output_dir", "reference_levels", "outlier_factor",
            "time_zone"} <= set(dag.params)
    assert "pool" not in dag.default_args or dag.default_args["pool"] != "orthanc"


def test_a_run_writes_the_quarters_tables_charts_and_summary(dagbag, source, splunk, tmp_path, capfd,
                                                             orthanc_connection):
    seeded = seed_quarter(source, splunk)
    events = quarter_events(seeded["truths"])
    dag = dagbag.get_dag(DAG_ID)
    orthanc_connection("orthanc_source", source)  # the outliers link to the source's explorer by default

    result = run(dag, AFTER_Q1, {"output_dir": str(tmp_path)})
    assert result["orthanc_url"] == source.url

    folder = tmp_path / INDEX / "2025-Q1"
    assert result["folder"] == str(folder) and result["label"] == "2025-Q1"
    assert result["start"].startswith("2025-01-01T00:00:00") and result["end"].startswith("2025-04-01T00:00:00")
    counts = result["counts"]
    # The resent report adds no event to the index (events are keyed by IrradiationEventUID), so the
    # report finds nothing to skip here; its own dedupe is tested on streams with copies in test_dose_report.py.
    assert counts["irradiation_events"] == len(events) and counts["duplicates_skipped"] == 0
    assert counts["first_event"].startswith("2025-01-08") and counts["last_event"].startswith("2025-03-28")

    # per protocol: the generator's truth, each event once, April's report left out
    by_protocol = {(r["protocol"], r["quantity"]): r for r in read_csv(folder / "dose_by_protocol.csv")}
    for quantity in ("CTDIvol", "DLP"):
        expected = expected_by_protocol(events, quantity)
        assert {p for p, q in by_protocol if q == quantity} == set(expected)
        for protocol, stats in expected.items():
            row = by_protocol[(protocol, quantity)]
            assert int(row["count"]) == stats["count"]
            for name in ("mean", "median", "p75", "max"):
                assert float(row[name]) == pytest.approx(stats[name], rel=1e-5), (protocol, quantity, name)
    scanners = {
        (r["protocol"], r["station"], r["quantity"]): r for r in read_csv(folder / "dose_by_protocol_and_scanner.csv")
    }
    for protocol, stats in expected_by_protocol(events, "DLP", station="CT2").items():
        assert float(scanners[(protocol, "CT2", "DLP")]["median"]) == pytest.approx(stats["median"], rel=1e-5)
        assert int(scanners[(protocol, "CT2", "DLP")]["count"]) == stats["count"]

    # local level (median) against the shipped UK table: Chest CTDIvol has a national level of 8.5 mGy
    reference = {(r["protocol"], r["quantity"]): r for r in read_csv(folder / "reference_levels.csv")}
    chest = reference[("Thorax Routine", "CTDIvol")]
    local = expected_by_protocol(events, "CTDIvol")["Thorax Routine"]["median"]
    assert float(chest["local_level"]) == pytest.approx(local, rel=1e-5)
    assert float(chest["national_level"]) == 8.5 and chest["matched_by"] == "body_region_code"
    assert chest["exceeds"] == str(local > 8.5) and "UKHSA" in chest["source"]
    assert reference[("Abdomen Venous", "DLP")]["national_level"] == ""  # no level for it: nothing invented

    # monthly medians: one row per month with events
    monthly = {(r["protocol"], r["month"], r["quantity"]): r for r in read_csv(folder / "monthly_medians.csv")}
    january = [e["dlp"] for e in events if e["month"] == "2025-01" and e["acquisition_protocol"] == "Thorax Routine"]
    assert int(monthly[("Thorax Routine", "2025-01", "DLP")]["count"]) == len(january)
    assert {m for _, m, _ in monthly} == {"2025-01", "2025-02", "2025-03"}

    # utilisation: studies per modality per day, from the instance records
    studies = read_csv(folder / "studies_per_modality_per_day.csv")
    per_modality: dict[str, int] = {}
    for row in studies:
        per_modality[row["modality"]] = per_modality.get(row["modality"], 0) + int(row["studies"])
    image_studies = {(i.dataset.Modality, i.dataset.StudyInstanceUID) for i in seeded["images"]}
    assert per_modality.get("CT", 0) == sum(1 for m, _ in image_studies if m == "CT")
    assert per_modality.get("MR", 0) == sum(1 for m, _ in image_studies if m == "MR")
    assert per_modality["SR"] == 6  # the quarter's six dose reports' studies (the resend is the same study)
    # every day of the quarter, for every modality, a day without studies as 0 (Q1 2025: 90 days)
    days = {(row["day"], row["modality"]) for row in studies}
    assert len(studies) == len(days) == 90 * len(per_modality) and min(days)[0] == "2025-01-01"
    assert max(days)[0] == "2025-03-31" and any(row["studies"] == "0" for row in studies)

    # per exam: total DLP of each study's scans, the Topogram counted apart; the generator's age is 45 years
    exams = {r["study_instance_uid"]: r for r in read_csv(folder / "exams.csv")}
    assert {uid: float(r["dlp_total"]) for uid, r in exams.items()} == pytest.approx(expected_exam_dlp(events))
    assert {r["age_group"] for r in exams.values()} == {"adult"} and len(exams) == counts["exams"] == 6
    assert counts["localizers"] == sum(1 for e in events if is_localizer(e)) == 6
    assert ("Topogram", "DLP") not in by_protocol
    # SSDE and the water-equivalent diameter where the reports carry them (CT2's), left empty where they do not
    for truth in seeded["truths"]:
        row = exams.get(truth["study_instance_uid"])
        sizes = [e for e in truth["events"] if e["ssde"] is not None]
        if row is None:
            continue
        assert bool(sizes) == (truth["station"] == SIZE_STATION)
        assert row["ssde_max"] == (f"{max(e['ssde'] for e in sizes):.6g}" if sizes else "")
        assert row["wed_mean_cm"] == (f"{sum(e['wed_mm'] for e in sizes) / len(sizes) / 10:.6g}" if sizes else "")
    assert ("Thorax Routine", "SSDE") in by_protocol and "distribution_SSDE.png" in result["charts"]

    # standard exam names from the shipped table: "CT TAP with contrast" -> CT CHEST ABDOMEN PELVIS; the
    # polytrauma report is listed as unmapped, with its descriptions, and kept out of the per-exam-name table
    unmapped_uid = next(t["study_instance_uid"] for t in seeded["truths"]
                        if t["accession_number"] == f"QA{UNMAPPED_SEED}")
    assert {uid: r["standard_exam"] for uid, r in exams.items()} == {
        uid: "" if uid == unmapped_uid else "CT CHEST ABDOMEN PELVIS" for uid in exams}
    assert read_csv(folder / "unmapped_descriptions.csv") == [
        {"requested_procedure_description": "Trauma protocol", "study_description": "Polytrauma", "exams": "1"}]
    assert counts["exams_unmapped"] == 1
    named = {(r["standard_exam"], r["quantity"]): r for r in read_csv(folder / "exams_by_standard_exam.csv")}
    mapped_dlp = [v for uid, v in expected_exam_dlp(events).items() if uid != unmapped_uid]
    assert int(named[("CT CHEST ABDOMEN PELVIS", "dlp_total")]["exams"]) == len(mapped_dlp) == 5

    # outliers: every row names a reason, and is above its level or factor x median
    for row in read_csv(folder / "outliers.csv"):
        value = float(row["value"])
        assert (row["national_level"] and value > float(row["national_level"])) or value > 2 * float(
            row["protocol_median"]
        )
        assert row["accession_number"].startswith("QA")
        assert row["study_link"] == f"{source.url}/app/explorer.html#study?uuid={row['orthanc_study_id']}"

    for chart in result["charts"]:
        assert (folder / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"distribution_CTDIvol.png", "distribution_DLP.png", "monthly_median_DLP.png",
            "studies_per_modality_per_day.png", "exams_dlp_total.png", "scanners_DLP.png"} <= set(result["charts"])
    # the PDF: the same counts and tables, every chart, each outlier's accession number and a link to its study
    pdf = pypdf.PdfReader(result["pdf"])
    text = "".join(page.extract_text() for page in pdf.pages)
    outliers = read_csv(folder / "outliers.csv")
    assert "Dose and utilisation report 2025-Q1" in text and "CT CHEST ABDOMEN PELVIS" in text
    assert outliers and all(row["accession_number"] in text for row in outliers[:50])
    links = {a.get_object()["/A"]["/URI"] for page in pdf.pages for a in page.get("/Annots") or []}
    assert {row["study_link"] for row in outliers[:50]} <= links
    assert len(pdf.pages) > len(result["charts"]) and result["time_zone"] == "UTC"
    page = (folder / "index.html").read_text()
    for name in [*result["tables"], *result["charts"]]:
        assert f'"{name}"' in page
    assert "2025-01-08" in page and str(len(events)) in page
    assert not list(folder.rglob("*.partial"))

    # a rerun replaces the files with the same content
    before = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    again = run(dag, AFTER_Q1, {"output_dir": str(tmp_path)})
    assert again["counts"] == counts
    assert {p.name: p.read_bytes() for p in folder.glob("*.csv")} == before

    output = capfd.readouterr()
    text = output.out + output.err + "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()
                                              and p.suffix != ".png")
    assert splunk.password not in text and splunk.hec_token not in text


def test_a_bad_reference_table_fails_the_run_before_searching(dagbag, splunk, tmp_path, caplog, capfd):
    dag = dagbag.get_dag(DAG_ID)
    bad = tmp_path / "levels.csv"
    bad.write_text("protocol,body_region,body_region_code,quantity,national_level,unit,examination,source\n"
                   "Thorax Routine,,,CTDIvol,8.5,Gy,Chest,Local\n")
    dag_run = dag.test(logical_date=Q1_START, run_conf={"output_dir": str(tmp_path), "quarter": "2024-Q4",
                                                        "reference_levels": str(bad)})
    assert dag_run.state == DagRunState.FAILED
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["search"] == "failed" and states["compute"] != "success"  # failed before searching, no retries
    assert not (tmp_path / INDEX).exists()
    assert splunk.requests == [] or all("/search/" not in r.path for r in splunk.requests)
    assert "line 2: unit 'Gy' for CTDIvol; the records carry mGy" in caplog.text + capfd.readouterr().out
