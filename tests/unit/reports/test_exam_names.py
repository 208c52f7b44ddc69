"""Local descriptions -> standard exam names: which description names an exam, and what is left unmapped."""

from __future__ import annotations

import pytest

from copydicom_provider.reports.collect import DoseEvent
from copydicom_provider.reports.exam_names import ExamNameTableError, load_exam_names, parse_exam_names, unmapped_rows
from copydicom_provider.reports.exams import exam_rows, exams_by_standard_exam
from copydicom_provider.reports.reference_levels import load_reference_table

SHIPPED = load_exam_names()


@pytest.mark.parametrize(("descriptions", "expected"), [
    (["CT TAP with contrast"], "CT CHEST ABDOMEN PELVIS"),
    (["", "CT Thorax Abdomen Pelvis"], "CT CHEST ABDOMEN PELVIS"),
    (["CTPA"], "CT ANGIOGRAPHY CHEST"),
    (["CT Abd/Pelvis w contrast"], "CT ABDOMEN PELVIS"),
    (["Renal stone protocol"], "CT ABDOMEN PELVIS"),
    (["CT Chest HR"], "CT CHEST"),
    (["CT C-Spine"], "CT CERVICAL SPINE"),
    (["CT Head w/o"], "CT HEAD"),
    (["Polytrauma"], ""),
])
def test_the_shipped_rows_name_common_descriptions(descriptions, expected):
    assert SHIPPED.name_for(descriptions)[0] == expected


def test_the_first_matching_row_wins_and_the_procedure_outranks_the_study_description():
    table = parse_exam_names("pattern,standard_exam,source\nstroke,CT HEAD PERFUSION,site\nhead,CT HEAD,site\n", "t")
    assert table.name_for(["Stroke head"]) == ("CT HEAD PERFUSION", "Stroke head")
    assert table.name_for(["Head", "Stroke"]) == ("CT HEAD", "Head")


def event(uid: str, study: str, protocol: str, procedure: str = "", description: str = "") -> DoseEvent:
    return DoseEvent(uid=uid, protocol=protocol, station="CT1", region="", region_code="", study_uid=study,
                     when="2025-01-02T10:00:00", values={"DLP": 100.0}, age_years=50.0,
                     procedure_description=procedure, study_description=description)


def test_an_exam_of_several_protocols_is_named_by_its_descriptions_only_and_else_listed_unmapped():
    events = [event("a1", "s1", "Thorax Routine", procedure="CT TAP"),
              event("b1", "s2", "Thorax Routine"), event("b2", "s2", "Abdomen Venous"),  # which one? unmapped
              event("c1", "s3", "Head Routine", description="Trauma"),  # one protocol: it names the exam
              event("d1", "s4", "Thorax Routine", description="Polytrauma"), event("d2", "s4", "Abdomen Venous",
                                                                                  description="Polytrauma")]
    rows = {r["study_instance_uid"]: r for r in exam_rows(events, load_reference_table(), SHIPPED)}
    assert {uid: r["standard_exam"] for uid, r in rows.items()} == {
        "s1": "CT CHEST ABDOMEN PELVIS", "s2": "", "s3": "CT HEAD", "s4": ""}
    assert rows["s3"]["exam_named_from"] == "Head Routine"
    assert unmapped_rows(rows.values()) == [
        {"requested_procedure_description": "", "study_description": "", "exams": 1},
        {"requested_procedure_description": "", "study_description": "Polytrauma", "exams": 1}]
    named = {(r["standard_exam"], r["quantity"]) for r in exams_by_standard_exam(rows.values())}
    assert named == {("CT CHEST ABDOMEN PELVIS", "dlp_total"), ("CT HEAD", "dlp_total")}


@pytest.mark.parametrize(("text", "complaint"), [
    ("pattern,standard_exam\nhead,CT HEAD\n", "lacks column(s) source"),
    ("pattern,standard_exam,source\n(,CT HEAD,site\n", "line 2: pattern is not a regular expression"),
    ("pattern,standard_exam,source\nhead,,site\n", "line 2: pattern and standard_exam"),
    ("pattern,standard_exam,source\nhead,CT HEAD,\n", "line 2: the source column is empty"),
])
def test_a_bad_table_is_refused_naming_what_is_wrong(text, complaint):
    with pytest.raises(ExamNameTableError) as error:
        parse_exam_names(text, "names.csv")
    assert complaint in str(error.value) and "names.csv" in str(error.value)
