"""Radiopharmaceutical Radiation Dose SRs: one dose_report record with agent, activity in MBq, route, organ doses."""

from __future__ import annotations

import pytest

from copydicom_provider.records.dose import dose_records, is_dose_report
from copydicom_provider.records.instance import instance_records
from copydicom_provider.records.stream import parse_header
from copydicom_provider.testing.dose_sr import to_bytes
from copydicom_provider.testing.dose_sr_radiopharm import make_radiopharm_dose_sr

IDS = {"OrthancInstanceID": "i1", "OrthancSeriesID": "s1", "OrthancStudyID": "t1", "OrthancPatientID": "p1"}


def read(ds):
    return dose_records(parse_header(to_bytes(ds)))  # from the file, as the job reads it


def test_an_administration_becomes_one_dose_report_record():
    ds, truth = make_radiopharm_dose_sr(seed=1)
    assert is_dose_report(ds)
    (report,) = read(ds)
    assert report["RecordType"] == "dose_report" and report["SOPClassUID"] == "1.2.840.10008.5.1.4.1.1.88.68"
    assert (report["AdministeredActivity"], report["AdministeredActivity_unit"]) == (truth["activity_mbq"], "MBq")
    assert report["RadiopharmaceuticalAgent"] == truth["agent"] == "Fluorodeoxyglucose F^18^"
    assert report["RadiopharmaceuticalAgent_code"] == "SCT:35321007"
    assert (report["Radionuclide"], report["Radionuclide_code"]) == (truth["radionuclide"], "SCT:77004003")
    assert (report["RouteOfAdministration"], report["RouteOfAdministration_code"]) == (
        "Intravenous route", "SCT:47625008")
    assert (report["RadionuclideHalfLife"], report["RadionuclideHalfLife_unit"]) == (6586.2, "s")
    assert (report["RadiopharmaceuticalVolume"], report["RadiopharmaceuticalVolume_unit"]) == (2.5, "cm3")
    assert report["RadiopharmaceuticalAdministrationEventUID"] == truth["administration_uid"]
    assert report["RadiopharmaceuticalStartDateTime"] == truth["start"]
    assert report["EventCount"] == 0 and "ParseWarnings" not in report
    assert not any(key.startswith("OrganDose") for key in report)  # none in this report: none invented


def test_activity_in_millicuries_is_converted_to_megabecquerels():
    ds, truth = make_radiopharm_dose_sr(seed=2, activity=8, activity_unit="mCi")
    (report,) = read(ds)
    assert (report["AdministeredActivity"], report["AdministeredActivity_unit"]) == (296, "MBq") == (
        truth["activity_mbq"], "MBq")


def test_organ_doses_are_kept_per_organ_and_never_averaged_over_organs():
    doses = {"Bladder": 0.13, "Brain": 0.038, "Liver": 0.021}
    ds, truth = make_radiopharm_dose_sr(seed=3, organ_doses=doses)
    (report,) = read(ds)
    assert {k: v for k, v in report.items() if k.startswith("OrganDose_")} == {
        **{f"OrganDose_{organ}": dose for organ, dose in truth["organ_doses"].items()}, "OrganDose_unit": "mGy"}
    assert "OrganDose" not in report and "OrganDose_count" not in report and "OrganDose_series" not in report
    assert report["FindingSite"] == ["Bladder", "Brain", "Liver"]


def test_the_instance_record_leaves_the_tree_to_the_dose_report():
    ds, _ = make_radiopharm_dose_sr(seed=4)
    out = instance_records(parse_header(to_bytes(ds)), "i1", IDS, "src", None)
    assert [r["RecordType"] for r in out.records] == ["dose_report", "instance"]
    assert out.records[0]["RecordKey"] == "i1:dose_report" and "ContentSequence" not in out.records[1]
    assert out.incomplete == ""


def test_an_unknown_activity_unit_is_kept_apart():
    ds, _ = make_radiopharm_dose_sr(seed=5)
    admin = ds.ContentSequence[-1]
    activity = next(i for i in admin.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "113507")
    activity.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue = "dpm?"
    (report,) = read(ds)
    assert "AdministeredActivity" not in report
    assert (report["AdministeredActivity_Unconverted"], report["AdministeredActivity_UnconvertedUnit"]) == (
        pytest.approx(296), "dpm?")
