"""The flattener on tricky trees: which instances, record shapes, values, repeats, charsets, long text, nesting.

Units are in test_units.py, concept keys in test_concepts.py, broken reports in test_broken_reports.py and
the instance record in test_instance_tags.py; the small SR trees they all build are tests/support/sr_trees.py.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from copydicom_provider.dicom.text import iso_datetime
from copydicom_provider.records import concepts, dose, dose_fields, instance, size, sr_walk, tags, units
from copydicom_provider.records.dose import dose_records, is_dose_report, patient_age_years
from copydicom_provider.records.tags import instance_record
from copydicom_provider.testing.dose_sr import (
    ENHANCED_SR,
    UNIT_MGY,
    UNIT_MGY_CM,
    code_item,
    container,
    make_ct_dose_sr,
    make_plain_sr,
    num_item,
    text_item,
    uid_item,
)
from tests.support.sr_trees import UCUM, code_ds, ct_event, events_of, report, roundtrip

# --- which instances --------------------------------------------------------------------------


def test_plain_sr_and_images_give_no_dose_records():
    assert dose_records(roundtrip(make_plain_sr())) == []
    image = Dataset()
    image.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    image.SOPInstanceUID = "1.2.3.4"
    assert dose_records(image) == []
    assert dose_records(Dataset()) == []


def test_enhanced_sr_with_dose_root_is_a_dose_report_and_other_roots_are_not():
    dose = report([ct_event(num_item(codes.DCM.MeanCtdivol, 9.5, UNIT_MGY))],
                  sop_class=ENHANCED_SR)
    assert is_dose_report(dose)
    assert [r["RecordType"] for r in dose_records(dose)] == ["dose_report", "irradiation_event"]
    assert events_of(dose)[0]["CTDIvol"] == 9.5
    other = report([], sop_class=ENHANCED_SR, root=Code("11528-7", "LN", "Radiology Report"))
    assert not is_dose_report(other) and dose_records(other) == []


def test_generated_enhanced_sr_round_trips():
    ds, truth = make_ct_dose_sr(enhanced_sr=True, spiral_count=2)
    records = dose_records(roundtrip(ds))
    assert records[0]["SOPClassUID"] == ENHANCED_SR
    assert [r.get("IrradiationEventUID") for r in records[1:]] == [
        e["irradiation_event_uid"] for e in truth["events"]]


# --- record shapes ----------------------------------------------------------------------------


def test_every_record_repeats_the_join_keys():
    ds, truth = make_ct_dose_sr(spiral_count=2, patient_age="045Y", patient_sex="M",
                                model_name="Model X", device_serial_number="SN9",
                                requested_procedure_description="CT chest")
    records = dose_records(roundtrip(ds))
    expected = {
        "SOPInstanceUID": truth["sop_instance_uid"],
        "StudyInstanceUID": truth["study_instance_uid"],
        "AccessionNumber": truth["accession_number"], "StationName": truth["station_name"],
        "Manufacturer": truth["manufacturer"], "ManufacturerModelName": "Model X",
        "DeviceSerialNumber": "SN9", "StudyDescription": "CT Thorax Abdomen",
        "RequestedProcedureDescription": "CT chest", "PatientSex": "M", "PatientAgeYears": 45,
        "StudyDateTime": "2024-03-14T09:30:00", "SeriesDescription": "Dose Record",
    }
    assert len(records) == 4
    for record in records:
        assert {k: record.get(k) for k in expected} == expected
    assert [r.get("EventIndex") for r in records] == [None, 1, 2, 3]


def test_missing_header_tags_are_left_out_not_empty():
    ds = report([])
    record = dose_records(ds)[0]
    assert "DeviceSerialNumber" not in record and "PatientAgeYears" not in record
    assert "StudyDateTime" not in record
    assert record["AccessionNumber"] == "A1"


def test_report_record_holds_context_and_accumulated_values_only():
    ds, _ = make_ct_dose_sr(spiral_count=2)
    report_record, *events = dose_records(roundtrip(ds))
    assert report_record["NumberOfEvents"] == 3 and report_record["NumberOfEvents_unit"] == "{events}"
    assert report_record["ObserverType_code"] == "DCM:121007"
    assert report_record["ScopeStudyInstanceUID"] == report_record["StudyInstanceUID"]
    assert report_record["StartOfXRayIrradiation"] == "2024-03-14T09:30:00"
    for key in ("CTDIvol", "DLP", "KVP", "AcquisitionProtocol", "IrradiationEventUID"):
        assert key not in report_record
    assert all("DLPTotal" not in e and "NumberOfEvents" not in e for e in events)


def test_records_are_json_serialisable():
    ds, _ = make_ct_dose_sr(dual_source=True, long_comment=True, charset="ISO_IR 192")
    records = dose_records(roundtrip(ds))
    assert json.loads(json.dumps(records, allow_nan=False)) == records
    json.dumps(instance_record(roundtrip(ds)), allow_nan=False)


# --- value typing -----------------------------------------------------------------------------


def test_missing_values_are_omitted_never_zero():
    no_value = num_item(codes.DCM.MeanCtdivol, None, UNIT_MGY)  # qualifier, empty sequence
    assert "NumericValueQualifierCodeSequence" in no_value
    no_sequence = num_item(codes.DCM.DLP, 1.0, UNIT_MGY_CM)
    del no_sequence.MeasuredValueSequence
    empty_number = num_item(codes.DCM.KVP, 120, UCUM("kV"))
    empty_number.MeasuredValueSequence[0].NumericValue = None
    ds = report([ct_event(no_value, no_sequence, empty_number,
                          num_item(codes.DCM.XRayTubeCurrent, 200, UCUM("mA")))])
    event = events_of(ds)[0]
    for key in ("CTDIvol", "CTDIvol_unit", "DLP", "DLP_unit", "KVP", "KVP_unit"):
        assert key not in event
    assert event["TubeCurrent"] == 200


def test_ge_style_scout_without_ct_dose_has_no_dose_keys():
    ds, truth = make_ct_dose_sr(quirks=True)
    scout, spiral = events_of(roundtrip(ds))
    assert scout["AcquisitionType_code"] == "DCM:113806"
    assert "CTDIvol" not in scout and "DLP" not in scout and "PhantomType" not in scout
    assert spiral["DLP_unit"] == "mGy.cm" and spiral["DLP"] == truth["events"][1]["dlp"]


def test_code_items_give_meaning_and_scheme_value():
    ds = report([ct_event(code_item(codes.DCM.CTAcquisitionType, codes.SCT.SpiralAcquisition),
                          code_item(codes.DCM.CtdiwPhantomType,
                                    codes.DCM.IECHeadDosimetryPhantom))])
    event = events_of(ds)[0]
    assert event["AcquisitionType"] == "Spiral Acquisition"
    assert event["AcquisitionType_code"] == "SCT:116152004"
    assert event["PhantomType"] == "IEC Head Dosimetry Phantom"
    assert event["PhantomType_code"] == "DCM:113690"


def test_multi_valued_and_floating_point_numbers():
    per_pulse = num_item(codes.DCM.KVP, "70", UCUM("kV"))
    per_pulse.MeasuredValueSequence[0].NumericValue = ["70", "71.5", "72"]
    fp = num_item(codes.DCM.PitchFactor, "1", UCUM("{ratio}"))
    del fp.MeasuredValueSequence[0].NumericValue
    fp.MeasuredValueSequence[0].FloatingPointValue = 0.984375
    event = events_of(report([ct_event(per_pulse, fp)]))[0]
    assert (event["KVP_min"], event["KVP_max"], event["KVP_count"]) == (70, 72, 3)
    assert event["KVP"] == pytest.approx(213.5 / 3)
    assert event["KVP_series"] == [70, 71.5, 72] and event["KVP_unit"] == "kV"
    assert event["PitchFactor"] == 0.984375


def test_datetime_date_time_and_references():
    dt = Dataset()
    dt.RelationshipType, dt.ValueType = "CONTAINS", "DATETIME"
    dt.ConceptNameCodeSequence = Sequence([code_ds(Code("111526", "DCM", "DateTime Started"))])
    dt.DateTime = "20240314093000.5+0100"
    date_item = Dataset()
    date_item.RelationshipType, date_item.ValueType = "CONTAINS", "DATE"
    date_item.ConceptNameCodeSequence = Sequence([code_ds(Code("113723", "DCM", "Calibration Date"))])
    date_item.Date = "20230101"
    ref = Dataset()
    ref.RelationshipType, ref.ValueType = "CONTAINS", "IMAGE"
    ref.ConceptNameCodeSequence = Sequence([code_ds(Code("X1", "99ACME", "Localizer Image"))])
    sop = Dataset()
    sop.ReferencedSOPClassUID, sop.ReferencedSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2", "9.8.7"
    ref.ReferencedSOPSequence = Sequence([sop])
    event = events_of(report([ct_event(dt, date_item, ref)]))[0]
    assert event["DateTimeStarted"] == "2024-03-14T09:30:00.5+01:00"
    assert event["CalibrationDate"] == "2023-01-01"
    assert event["LocalizerImage"] == "9.8.7"


@pytest.mark.parametrize(("raw", "iso"), [
    ("20240314093000", "2024-03-14T09:30:00"), ("20240314", "2024-03-14"), ("2024", "2024"),
    ("202403140930", "2024-03-14T09:30"), ("20240314093000.123456", "2024-03-14T09:30:00.123456"),
    ("20240314093000-0500", "2024-03-14T09:30:00-05:00"), ("yesterday", None), ("", None),
])
def test_iso_datetime(raw, iso):
    assert iso_datetime(raw) == iso


@pytest.mark.parametrize(("age", "years"), [
    ("045Y", 45), ("000Y", 0), ("006M", 0.5), ("010W", 0.19), ("003D", 0.01), ("018M", 1.5),
    ("", None), (None, None), ("45", None), ("abcY", None),
])
def test_patient_age_years(age, years):
    assert patient_age_years(age) == years


# --- repeats and dual source ------------------------------------------------------------------


def test_dual_source_gives_per_source_keys_and_scalar_means():
    ds, truth = make_ct_dose_sr(dual_source=True, spiral_count=2, seed=4)
    _, scout, *spirals = dose_records(roundtrip(ds))
    assert isinstance(scout["KVP"], (int, float)) and "KVP_count" not in scout  # one tube
    for record, expected in zip(spirals, truth["events"][1:], strict=True):
        assert record["XRaySourceID"] == ["A", "B"]
        assert record["KVP"] == expected["kvp"] and record["KVP_count"] == 2
        for source, kvp in expected["kvp_by_source"].items():
            assert record[f"KVP_Source{source}"] == kvp
        for source, ma in expected["tube_current_by_source"].items():
            assert record[f"TubeCurrent_Source{source}"] == ma
        assert record["KVP_unit"] == "kV" and record["TubeCurrent_unit"] == "mA"
        assert record["TubeCurrent"] == expected["tube_current"]
        assert "KVP_series" not in record  # one value per named tube: no positional list
        assert not [k for k, v in record.items() if isinstance(v, list) and not k.endswith(
            ("_series", "XRaySourceID"))]


def test_dual_source_with_a_value_missing_on_one_source_does_not_shift():
    ds, truth = make_ct_dose_sr(dual_source=True, missing_source_value=True, spiral_count=2, seed=4)
    for record, expected in zip(events_of(roundtrip(ds))[1:], truth["events"][1:], strict=True):
        assert expected["kvp_by_source"].keys() == {"A"}
        assert record["KVP_SourceA"] == expected["kvp_by_source"]["A"]
        assert "KVP_SourceB" not in record and "KVP_count" not in record
        assert record["KVP"] == expected["kvp_by_source"]["A"]  # tube A's own value, not B's
        assert record["TubeCurrent_SourceB"] == expected["tube_current_by_source"]["B"]


def test_biplane_totals_are_kept_per_plane_and_summed():
    planes = [container(codes.DCM.AccumulatedXRayDoseData, [
        code_item(codes.DCM.AcquisitionPlane, Code(code, "DCM", meaning)),
        num_item(codes.DCM.DoseAreaProductTotal, dap, UCUM("Gy.m2")),
        num_item(codes.DCM.TotalFluoroTime, seconds, UCUM("s")),
    ]) for code, meaning, dap, seconds in (("113620", "Plane A", "0.002", "300"),
                                           ("113621", "Plane B", "0.0005", "120"))]
    (report_record,) = dose_records(report(planes))
    assert report_record["DoseAreaProductTotal_PlaneA"] == 0.002
    assert report_record["DoseAreaProductTotal_PlaneB"] == 0.0005
    assert report_record["DoseAreaProductTotal"] == 0.0025  # the report's total: the planes add up
    assert (report_record["TotalFluoroTime"], report_record["TotalFluoroTime_count"]) == (420, 2)
    assert "DoseAreaProductTotal_series" not in report_record


def test_filters_are_kept_per_material():
    filters = [container(Code("113771", "DCM", "X-Ray Filters"), [
        code_item(codes.DCM.XRayFilterMaterial, Code(code, "SCT", meaning)),
        num_item(Code("113758", "DCM", "X-Ray Filter Thickness Minimum"), low, UCUM("mm")),
    ]) for code, meaning, low in (("C-127F9", "SCT", "0.1"), ("C-120F9", "SCT", "1.0"))]
    filters[0].ContentSequence[0].ConceptCodeSequence[0].CodeMeaning = "Copper or Copper compound"
    filters[1].ContentSequence[0].ConceptCodeSequence[0].CodeMeaning = "Aluminum or Aluminum compound"
    event = events_of(report([container(codes.DCM.IrradiationEventXRayData, filters)]))[0]
    assert event["XRayFilterThicknessMinimum_FilterCopperOrCopperCompound"] == 0.1
    assert event["XRayFilterThicknessMinimum_FilterAluminumOrAluminumCompound"] == 1
    assert event["XRayFilterMaterial"] == ["Copper or Copper compound", "Aluminum or Aluminum compound"]


def test_accumulated_glandular_dose_is_kept_per_breast():
    laterality = Code("272741003", "SCT", "Laterality")
    doses = [num_item(Code("111637", "DCM", "Accumulated Average Glandular Dose"), dose, UCUM("mGy"))
             for dose in ("1.2", "1.6")]
    for item, side in zip(
        doses, (Code("80248007", "SCT", "Left breast"), Code("73056007", "SCT", "Right breast")), strict=True
    ):
        item.ContentSequence = Sequence([code_item(laterality, side, "HAS CONCEPT MOD")])
    (report_record,) = dose_records(report([container(Code("113702", "DCM", "Accumulated X-Ray Dose Data"), doses)]))
    assert report_record["AccumulatedAverageGlandularDose_LeftBreast"] == 1.2
    assert report_record["AccumulatedAverageGlandularDose_RightBreast"] == 1.6
    assert report_record["AccumulatedAverageGlandularDose"] == 1.4  # mean per breast


def test_an_unnamed_source_is_named_by_its_position():
    tubes = [container(codes.DCM.CTXRaySourceParameters,
                       [num_item(codes.DCM.KVP, kvp, UCUM("kV"))]) for kvp in ("80", "140")]
    event = events_of(report([ct_event(*tubes)]))[0]
    assert (event["KVP_Source1"], event["KVP_Source2"], event["KVP"]) == (80, 140, 110)


def test_one_unit_per_key_and_repeated_codes_stay_parallel_lists():
    ds = report([ct_event(
        num_item(codes.DCM.DLP, "100", UNIT_MGY_CM),
        num_item(codes.DCM.DLP, "0.2", UCUM("Gy.cm")),  # normalises to mGy.cm: one unit
        num_item(codes.DCM.ExposureTime, "500", UCUM("ms")),
        num_item(codes.DCM.ExposureTime, "1.5", UCUM("s")),
        code_item(codes.DCM.TargetRegion, codes.SCT.Chest),
        code_item(codes.DCM.TargetRegion, codes.SCT.Abdomen),
    )])
    event = events_of(ds)[0]
    assert event["DLP_series"] == [100, 200] and event["DLP_unit"] == "mGy.cm"
    assert event["ExposureTime_series"] == [0.5, 1.5] and event["ExposureTime_unit"] == "s"
    assert event["TargetRegion"] == ["Chest", "Abdomen"]
    assert event["TargetRegion_code"] == ["SCT:816094009", "SCT:818981001"]


def test_repeated_event_containers_are_separate_records_in_order():
    uids = [f"1.2.3.{i}" for i in range(5)]
    ds = report([ct_event(uid_item(codes.DCM.IrradiationEventUID, u),
                          num_item(codes.DCM.MeanCtdivol, str(i + 1), UNIT_MGY))
                 for i, u in enumerate(uids)])
    events = events_of(ds)
    assert [e["IrradiationEventUID"] for e in events] == uids
    assert [e["CTDIvol"] for e in events] == [1, 2, 3, 4, 5]
    assert [e["EventIndex"] for e in events] == [1, 2, 3, 4, 5]


def test_projection_xray_events_are_irradiation_events_too():
    event = container(codes.DCM.IrradiationEventXRayData, [
        uid_item(codes.DCM.IrradiationEventUID, "1.2.3.77"),
        num_item(codes.DCM.DoseAreaProduct, "12.5", UCUM("dGy.cm2")),
        num_item(codes.DCM.DoseRP, "0.0042", UCUM("Gy")),
    ])
    accumulated = container(codes.DCM.AccumulatedXRayDoseData, [
        num_item(Code("113722", "DCM", "Dose Area Product Total"), "0.000125", UCUM("Gy.m2"))])
    report_record, event_record = dose_records(report([accumulated, event]))
    assert report_record["DoseAreaProductTotal"] == 0.000125
    assert event_record["DoseAreaProduct"] == 0.000125
    assert event_record["DoseAreaProduct_unit"] == "Gy.m2"
    assert event_record["DoseRP"] == 4.2 and event_record["DoseRP_unit"] == "mGy"


def test_event_container_with_right_meaning_but_private_code_is_still_an_event():
    odd = container(Code("C-99", "99ACME", "CT Acquisition"),
                    [num_item(codes.DCM.MeanCtdivol, "3", UNIT_MGY)])
    assert events_of(report([odd]))[0]["CTDIvol"] == 3


# --- a concept as number and as text -------------------------------------------------------


def test_a_concept_given_as_number_and_as_text_keeps_the_number_scalar():
    event = events_of(report([ct_event(num_item(codes.DCM.KVP, "120", UCUM("kV")),
                                       text_item(codes.DCM.KVP, "120 kV nominal"))]))[0]
    assert (event["KVP"], event["KVP_text"]) == (120, "120 kV nominal")


# --- text: charsets and long values -----------------------------------------------------------


@pytest.mark.parametrize("charset", ["ISO_IR 100", "ISO_IR 192"])
def test_non_ascii_text_is_decoded_per_charset(charset):
    ds, truth = make_ct_dose_sr(charset=charset)
    back = roundtrip(ds)
    spiral = events_of(back)[1]
    assert spiral["AcquisitionProtocol"] == truth["events"][1]["acquisition_protocol"]
    assert any(ord(c) > 127 for c in spiral["AcquisitionProtocol"])
    assert instance_record(back)["PatientName"] == "Müller^Jürgen"


def test_values_over_256_characters_are_kept_whole():
    ds, truth = make_ct_dose_sr(long_comment=True)
    back = roundtrip(ds)
    assert dose_records(back)[0]["Comment"] == truth["comment"]
    assert len(truth["comment"]) > 256
    record = instance_record(back, content_tree=True)
    texts = json.dumps(record)
    assert truth["comment"] in texts


# --- nesting ----------------------------------------------------------------------------------


def test_deep_nesting_is_flattened_and_events_are_found_at_any_depth():
    inner: Dataset = num_item(codes.DCM.KVP, "135", UCUM("kV"))
    for depth in range(40):
        inner = container(Code(f"N{depth}", "99ACME", f"Group {depth}"), [inner])
    event = ct_event(inner, num_item(codes.DCM.MeanCtdivol, "4", UNIT_MGY))
    wrapped: Dataset = event
    for depth in range(10):
        wrapped = container(Code(f"W{depth}", "99ACME", f"Wrapper {depth}"), [wrapped])
    records = dose_records(report([wrapped]))
    assert len(records) == 2
    assert records[1]["KVP"] == 135 and records[1]["CTDIvol"] == 4
    assert not any(k.startswith(("Group", "Wrapper")) for k in records[1])  # containers add nothing
    assert "KVP" not in records[0]


def test_an_event_nested_in_an_event_is_its_own_record():
    inner = ct_event(num_item(codes.DCM.MeanCtdivol, "2", UNIT_MGY))
    outer = ct_event(num_item(codes.DCM.MeanCtdivol, "1", UNIT_MGY), inner,
                     num_item(codes.DCM.DLP, "10", UNIT_MGY_CM))
    first, second = events_of(report([outer]))
    assert first["CTDIvol"] == 1 and first["DLP"] == 10
    assert second["CTDIvol"] == 2 and "DLP" not in second


# --- purity -----------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [dose, sr_walk, tags, instance, concepts, units, dose_fields, size])
def test_core_modules_do_not_import_airflow(module):
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m.split(".")[0] == "airflow"]
