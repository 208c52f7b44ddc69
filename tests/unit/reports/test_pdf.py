"""reports.pdf, reports.summary and the per-exam and per-scanner charts: the report a physicist hands in."""

from __future__ import annotations

import pypdf
import pytest

from copydicom_provider.reports.collect import Collected, DoseEvent
from copydicom_provider.reports.exam_names import load_exam_names
from copydicom_provider.reports.pdf import PDF_FILE, pdf_report
from copydicom_provider.reports.reference_levels import ReferenceLevel, ReferenceTable
from copydicom_provider.reports.summary import Summary, sections, summary_items
from copydicom_provider.reports.writer import compute_tables, summary_counts, write_charts, write_summary

CHEST = "SCT:816094009"
EXPLORER = "http://pacs.example.org:8042"


def scan(uid: str, study: str, station: str, dlp: float, description: str = "CT chest with contrast") -> DoseEvent:
    return DoseEvent(uid, "Thorax", station, "Chest", CHEST, study, "2025-07-03T10:00:00",
                     {"CTDIvol": dlp / 40, "DLP": dlp}, "Spiral Acquisition", "SCT:116152004", "", 45.0,
                     accession_number=f"ACC{study}", orthanc_study_id=f"orthanc-{study}", study_description=description)


@pytest.fixture
def report(tmp_path):
    events = [scan(str(n), f"S{n}", "CT1" if n % 2 else "CT2", 300.0 + 10 * n) for n in range(1, 9)]
    events.append(scan("99", "S99", "CT2", 2000.0))  # far above its level and its protocol's median
    collected = Collected(events=events)
    table = ReferenceTable([ReferenceLevel("", "Chest", CHEST, "DLP", 400.0, "mGy.cm", "Chest exam", "src")], "t")
    tables = compute_tables(collected, table, 2.0, None, EXPLORER, load_exam_names())
    counts = summary_counts(collected, tables)
    summary = Summary("Dose report 2025-Q3", summary_items(("2025-07-01 00:00", "2025-10-01 00:00"), "America/Chicago",
                                                           counts, "t"), sections(tables))
    with pdf_report(tmp_path, summary.title) as document:
        document.front(summary)
        summary.charts = write_charts(tmp_path, collected, tables, document.add_figure)
    write_summary(tmp_path, summary)
    return tmp_path, summary


def test_the_pdf_carries_the_counts_tables_and_every_chart_with_clickable_outliers(report):
    folder, summary = report
    pdf = pypdf.PdfReader(folder / PDF_FILE)
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "Dose report 2025-Q3" in text and "America/Chicago" in text
    assert "ACCS99" in text and "Outliers" in text and "CT CHEST" in text  # the outlier's accession, the exam name
    # one page per chart after the front pages (title and one per section)
    assert len(pdf.pages) == 1 + len(summary.sections) + len(summary.charts)
    links = {annotation.get_object()["/A"]["/URI"] for page in pdf.pages
             for annotation in page.get("/Annots") or [] if annotation.get_object().get("/A")}
    assert f"{EXPLORER}/app/explorer.html#study?uuid=orthanc-S99" in links
    assert not list(folder.glob("*.partial"))


def test_exams_are_charted_per_standard_exam_and_scanners_side_by_side(report):
    folder, summary = report
    assert {"exams_dlp_total.png", "exams_ctdivol_max.png", "scanners_DLP.png", "scanners_CTDIvol.png"} <= set(
        summary.charts)
    for name in summary.charts:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (folder / "index.html").read_text()
    assert f'href="{EXPLORER}/app/explorer.html#study?uuid=orthanc-S99"' in page and 'href="report.pdf"' in page


def test_a_failed_pdf_leaves_no_file_behind(tmp_path):
    with pytest.raises(RuntimeError), pdf_report(tmp_path, "t"):
        raise RuntimeError("drawing failed")
    assert list(tmp_path.iterdir()) == []
