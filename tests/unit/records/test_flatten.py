"""The flattener on tricky trees: units, missing values, repeats, charsets, long text, nesting, breakage."""

from __future__ import annotations

import ast
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from copydicom_provider.records import concepts as dose_concepts
from copydicom_provider.records import dose_fields, flatten
from copydicom_provider.records import size as record_size
from copydicom_provider.records import units as dose_units
from copydicom_provider.records.concepts import CONCEPT_KEYS, concept_key, normalise_unit
from copydicom_provider.records.flatten import (
    dose_records,
    instance_record,
    is_dose_report,
    iso_datetime,
    patient_age_years,
)
from copydicom_provider.records.units import KEY_UNITS, UnitError, key_unit
from copydicom_provider.testing.dose_sr import (
    ENHANCED_SR,
    UNIT_MGY,
    UNIT_MGY_CM,
    XRAY_RADIATION_DOSE_SR,
    code_item,
    container,
    make_ct_dose_sr,
    make_plain_sr,
    num_item,
    text_item,
    to_bytes,
    uid_item,
)

REPO = Path(__file__).resolve().parents[3]
UCUM = lambda value: Code(value, "UCUM", value)  # noqa: E731


def report(children, *, sop_class=XRAY_RADIATION_DOSE_SR, root=None, **header) -> Dataset:
    """A minimal dose SR around ``children`` (no file meta: the flattener needs none)."""
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = header.pop("sop_uid", "1.2.3.999")
    ds.StudyInstanceUID = "1.2.3"
    ds.AccessionNumber = "A1"
    ds.StationName = "CT1"
    ds.Manufacturer = "ACME"
    for keyword, value in header.items():
        setattr(ds, keyword, value)
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence(
        [_code_ds(root or codes.DCM.XRayRadiationDoseReport)])
    ds.ContinuityOfContent = "SEPARATE"
    ds.ContentSequence = Sequence(children)
    return ds


def _code_ds(code: Code) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator = code.value, code.scheme_designator
    item.CodeMeaning = code.meaning
    return item


def ct_event(*children) -> Dataset:
    return container(codes.DCM.CTAcquisition, list(children))


def events_of(ds):
    return [r for r in dose_records(ds) if r["RecordType"] == "irradiation_event"]


def roundtrip(ds: Dataset) -> Dataset:
    return dcmread(io.BytesIO(to_bytes(ds)))


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


@pytest.mark.parametrize("unit, value, expected, expected_unit", [
    ("mGycm", "512.5", 512.5, "mGy.cm"),
    ("mGy.cm", "512.5", 512.5, "mGy.cm"),
    ("mGy*cm", "10", 10, "mGy.cm"),
    ("MGY.CM", "10", 10, "mGy.cm"),
    ("Gy.cm", "0.25", 250, "mGy.cm"),
    ("cGy.cm", "1.5", 15, "mGy.cm"),
])
def test_dlp_units_are_normalised_and_scaled(unit, value, expected, expected_unit):
    ds = report([ct_event(num_item(codes.DCM.DLP, value, UCUM(unit)))])
    event = events_of(ds)[0]
    assert event["DLP"] == expected and event["DLP_unit"] == expected_unit


@pytest.mark.parametrize("unit, expected, factor", [
    ("mGy", "mGy", Decimal(1)), ("Gy", "mGy", Decimal(1000)), ("cGy", "mGy", Decimal(10)),
    ("uGy", "mGy", Decimal("0.001")), ("µGy", "mGy", Decimal("0.001")),
    ("mGy cm", "mGy.cm", Decimal(1)), ("Gy.m2", "Gy.m2", Decimal(1)),
    ("dGy.cm2", "Gy.m2", Decimal("0.00001")), ("mGy.cm2", "Gy.m2", Decimal("1E-7")),
    ("kV", "kV", Decimal(1)), ("mA", "mA", Decimal(1)), ("{ratio}", "{ratio}", Decimal(1)),
    ("mm", "mm", Decimal(1)),
])
def test_normalise_unit(unit, expected, factor):
    assert normalise_unit(unit) == (expected, factor)


def test_ctdivol_in_gray_is_scaled_to_milligray_without_float_noise():
    ds = report([ct_event(num_item(codes.DCM.MeanCtdivol, "0.0123", UCUM("Gy")))])
    event = events_of(ds)[0]
    assert event["CTDIvol"] == 12.3 and event["CTDIvol_unit"] == "mGy"


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
    dt.ConceptNameCodeSequence = Sequence([_code_ds(Code("111526", "DCM", "DateTime Started"))])
    dt.DateTime = "20240314093000.5+0100"
    date_item = Dataset()
    date_item.RelationshipType, date_item.ValueType = "CONTAINS", "DATE"
    date_item.ConceptNameCodeSequence = Sequence([_code_ds(Code("113723", "DCM", "Calibration Date"))])
    date_item.Date = "20230101"
    ref = Dataset()
    ref.RelationshipType, ref.ValueType = "CONTAINS", "IMAGE"
    ref.ConceptNameCodeSequence = Sequence([_code_ds(Code("X1", "99ACME", "Localizer Image"))])
    sop = Dataset()
    sop.ReferencedSOPClassUID, sop.ReferencedSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2", "9.8.7"
    ref.ReferencedSOPSequence = Sequence([sop])
    event = events_of(report([ct_event(dt, date_item, ref)]))[0]
    assert event["DateTimeStarted"] == "2024-03-14T09:30:00.5+01:00"
    assert event["CalibrationDate"] == "2023-01-01"
    assert event["LocalizerImage"] == "9.8.7"


@pytest.mark.parametrize("raw, iso", [
    ("20240314093000", "2024-03-14T09:30:00"), ("20240314", "2024-03-14"), ("2024", "2024"),
    ("202403140930", "2024-03-14T09:30"), ("20240314093000.123456", "2024-03-14T09:30:00.123456"),
    ("20240314093000-0500", "2024-03-14T09:30:00-05:00"), ("yesterday", None), ("", None),
])
def test_iso_datetime(raw, iso):
    assert iso_datetime(raw) == iso


@pytest.mark.parametrize("age, years", [
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
    for item, side in zip(doses, (Code("80248007", "SCT", "Left breast"), Code("73056007", "SCT", "Right breast"))):
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


# --- keys -------------------------------------------------------------------------------------


def test_unknown_codes_fall_back_to_camel_case_and_never_shadow_header_keys():
    ds = report([ct_event(
        num_item(Code("X1", "99ACME", "Bolus tracking delay (s)"), "12", UCUM("s")),
        text_item(Code("X2", "99ACME", "Station Name"), "private station"),
        text_item(Code("X3", "99ACME", ""), "nameless"),
        text_item(Code("X4", "99ACME", "3D recon"), "yes"),
        num_item(Code("X5", "99ACME", "Event Count"), "7", UCUM("{events}")),
    )])
    event = events_of(ds)[0]
    assert event["BolusTrackingDelayS"] == 12 and event["BolusTrackingDelayS_unit"] == "s"
    assert event["StationName"] == "CT1" and event["SRStationName"] == "private station"
    assert event["Code99ACMEX3"] == "nameless"
    assert event["N3DRecon"] == "yes"
    assert event["SREventCount"] == 7 and "EventCount" not in event  # the flattener's own key


def test_keys_match_by_code_not_meaning():
    misspelt = num_item(Code("113830", "DCM", "Mean CTDI vol (vendor spelling)"), "7", UNIT_MGY)
    assert events_of(report([ct_event(misspelt)]))[0]["CTDIvol"] == 7
    assert concept_key("DCM", "113734", "wrong meaning") == "TubeCurrent"


def test_issue_keys_are_in_the_table():
    expected = {"113830": "CTDIvol", "113838": "DLP", "113813": "DLPTotal",
                "113812": "NumberOfEvents", "125203": "AcquisitionProtocol",
                "123014": "TargetRegion", "113820": "AcquisitionType", "113835": "PhantomType",
                "113769": "IrradiationEventUID", "113733": "KVP", "113734": "TubeCurrent"}
    assert {code: CONCEPT_KEYS[("DCM", code)] for code in expected} == expected
    assert not set(CONCEPT_KEYS.values()) & dose_concepts.RESERVED_KEYS


def test_docs_table_matches_the_code_table():
    text = (REPO / "docs" / "dose-records.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w+) \| ([\w-]+) \| [^|]* \| `(\w+)` \|$", text, flags=re.M)
    assert {(s, c): k for s, c, k in rows} == CONCEPT_KEYS
    assert len(rows) == len(CONCEPT_KEYS)


def test_docs_units_table_matches_key_units():
    text = (REPO / "docs" / "dose-records.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| `([^`]+)` \|$", text, flags=re.M)
    assert dict(rows) == KEY_UNITS and len(rows) == len(KEY_UNITS)
    assert set(KEY_UNITS) <= set(CONCEPT_KEYS.values())  # every unit row is a key of the table


@pytest.mark.parametrize("key, unit, value, expected, expected_unit", [
    ("ExposureTime", "ms", "500", 0.5, "s"),  # projection X-ray
    ("ExposureTime", "s", "6.5", 6.5, "s"),  # CT
    ("Exposure", "uAs", "2500", 2.5, "mA.s"),
    ("Exposure", "mAs", "2.5", 2.5, "mA.s"),
    ("PulseRate", "pulse/s", "15", 15, "{pulse}/s"),
    ("PulseRate", "/s", "7.5", 7.5, "{pulse}/s"),
    ("PulseWidth", "s", "0.008", 8, "ms"),
    ("DistanceSourceToDetector", "cm", "110", 1100, "mm"),
    ("EffectiveDose", "uSv", "1500", 1.5, "mSv"),
    ("CollimatedFieldArea", "cm2", "400", 0.04, "m2"),
    ("HalfValueLayer", "mm[Al]", "0.45", 0.45, "mm"),
    ("XRayFilterThicknessMinimum", "mm Cu", "0.1", 0.1, "mm"),
    ("DoseAreaProduct", "µGy*m²", "250", 0.00025, "Gy.m2"),
])
def test_every_value_of_a_key_is_converted_to_its_one_unit(key, unit, value, expected, expected_unit):
    assert key_unit(key, unit)[0] == expected_unit
    concept = next(Code(c, s, key) for (s, c), k in CONCEPT_KEYS.items() if k == key)
    event = events_of(report([ct_event(num_item(concept, value, UCUM(unit)))]))[0]
    assert (event[key], event[f"{key}_unit"]) == (pytest.approx(expected), expected_unit)


def test_a_concept_given_as_number_and_as_text_keeps_the_number_scalar():
    event = events_of(report([ct_event(num_item(codes.DCM.KVP, "120", UCUM("kV")),
                                       text_item(codes.DCM.KVP, "120 kV nominal"))]))[0]
    assert (event["KVP"], event["KVP_text"]) == (120, "120 kV nominal")


def test_a_unit_that_does_not_convert_is_skipped_and_named_never_mixed():
    event = events_of(report([ct_event(num_item(codes.DCM.KVP, "120", UCUM("kV")),
                                       num_item(codes.DCM.KVP, "300", UCUM("mA")))]))[0]
    assert event["KVP"] == 120 and "KVP_count" not in event
    assert event["ParseWarnings"] == "1.1.2: NUM item KVP: unit 'mA' cannot be converted to 'kV'; skipped"
    with pytest.raises(UnitError):
        key_unit("KVP", "mA")


def test_unknown_keys_get_their_dimension_unit_and_counts_keep_theirs():
    event = events_of(report([ct_event(
        num_item(Code("P1", "99ACME", "Table Travel"), "12", UCUM("cm")),
        num_item(Code("P2", "99ACME", "Frames Stored"), "40", UCUM("{frames}")),
        num_item(Code("P3", "99ACME", "Odd Thing"), "3", UCUM("furlong")),
    )]))[0]
    assert (event["TableTravel"], event["TableTravel_unit"]) == (120, "mm")
    assert event["FramesStored_unit"] == "{frames}" and event["OddThing_unit"] == "furlong"


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


# --- broken reports ---------------------------------------------------------------------------


def _broken(mutate) -> Dataset:
    ds, _ = make_ct_dose_sr()
    mutate(ds)
    return ds


def _spiral(ds: Dataset) -> Dataset:
    return [i for i in ds.ContentSequence
            if i.ConceptNameCodeSequence[0].CodeValue == "113819"][1]


@pytest.mark.filterwarnings("ignore:Invalid value for VR DT")
@pytest.mark.parametrize("mutate, where, problem, lost", [
    (lambda ds: delattr(_spiral(ds).ContentSequence[0], "ValueType"), "1.13.1", "no ValueType",
     "AcquisitionProtocol"),
    (lambda ds: delattr(_spiral(ds).ContentSequence[1], "ConceptCodeSequence"), "1.13.2",
     "no ConceptCodeSequence", "TargetRegion"),
    (lambda ds: setattr(_spiral(ds).ContentSequence[1], "ConceptCodeSequence", Sequence([])),
     "1.13.2", "no ConceptCodeSequence", "TargetRegion"),
    (lambda ds: delattr(_spiral(ds).ContentSequence[0], "ConceptNameCodeSequence"), "1.13.1",
     "no concept name", "AcquisitionProtocol"),
    (lambda ds: delattr(_spiral(ds).ContentSequence[4], "UID"), "1.13.5", "no UID",
     "IrradiationEventUID"),
    (lambda ds: setattr(ds.ContentSequence[7], "DateTime", "2024-03-14 09:30"), "1.8",
     "unreadable value", "StartOfXRayIrradiation"),
    (lambda ds: delattr(ds.ContentSequence[1].ConceptNameCodeSequence[0], "CodeValue"), "1.2",
     "no code value", "ObserverType"),
])
def test_an_unreadable_item_is_skipped_and_named_and_the_rest_is_flattened(mutate, where, problem, lost):
    ds = _broken(mutate)
    good, truth = make_ct_dose_sr()
    records, expected = dose_records(ds), dose_records(good)
    assert [r["RecordType"] for r in records] == [r["RecordType"] for r in expected]
    warned = [r for r in records if "ParseWarnings" in r]
    assert len(warned) == 1
    warning = warned[0]["ParseWarnings"]
    assert " | " not in warning
    assert warning.startswith(f"{where}: ") and problem in warning and warning.endswith("skipped")
    assert lost not in warned[0]
    assert records[0]["ParseWarningCount"] == 1
    for got, want in zip(records, expected, strict=True):  # everything else is as in the good report
        rest = {k: v for k, v in got.items() if k not in ("ParseWarnings", "ParseWarningCount", lost,
                                                         f"{lost}_code", "FirstIrradiationEventUID")}
        assert rest == {k: v for k, v in want.items() if k not in (lost, f"{lost}_code",
                                                                   "FirstIrradiationEventUID")}


def test_text_in_a_num_read_from_a_file_is_skipped_and_named():
    ds, truth = make_ct_dose_sr()
    ct_dose = _spiral(ds).ContentSequence[6]
    ct_dose.ContentSequence[0].MeasuredValueSequence[0].NumericValue = "7777.77"
    data = to_bytes(ds).replace(b"7777.77 ", b"abc.def ")  # same length, not a number
    _, _, spiral = dose_records(dcmread(io.BytesIO(data)))
    assert spiral["ParseWarnings"] == "1.13.7.1: NUM item CTDIvol has non-numeric value 'abc.def'; skipped"
    assert "CTDIvol" not in spiral and spiral["DLP"] == truth["events"][1]["dlp"]


def test_odd_vendor_items_cost_only_themselves():
    ds, truth = make_ct_dose_sr(odd_items=True, spiral_count=2, dual_source=True)
    records = dose_records(roundtrip(ds))
    report_record, scout, spiral, *_ = records
    assert len(records) == 1 + truth["number_of_events"]
    for record, expected in ((report_record, truth["warnings"]["report"]),
                             (spiral, truth["warnings"]["event"])):
        warnings = record["ParseWarnings"].split(" | ")
        assert len(warnings) == len(expected)
        for warning, problem in zip(warnings, expected, strict=True):
            assert re.match(r"^1(\.\d+)+: ", warning) and problem in warning
    assert report_record["ParseWarningCount"] == 4 and "ParseWarnings" not in scout
    assert "EndOfXRayIrradiation" not in report_record and report_record["DLPTotal"] == truth["dlp_total"]
    assert "ExposedRange" not in spiral  # an empty measured value is no value, never 0
    assert (spiral["TubeCurrentPerRotation"], spiral["TubeCurrentPerRotation_count"]) == (220, 5)
    assert spiral["DLP"] == truth["events"][1]["dlp"] and spiral["CTDIvol"] == truth["events"][1]["ctdivol"]


def test_a_report_without_readable_content_still_gives_its_report_record():
    ds = report([])
    ds.ContentSequence = Sequence([Dataset(), Dataset()])  # items without anything
    report_record, = dose_records(ds)
    assert report_record["EventCount"] == 0
    assert [w.split(":")[0] for w in report_record["ParseWarnings"].split(" | ")] == ["1.1", "1.2"]


def test_warnings_are_bounded():
    items = [_item_without_value_type() for _ in range(50)]
    (report_record,) = dose_records(report(items))
    warnings = report_record["ParseWarnings"].split(" | ")
    assert len(warnings) == 21 and warnings[-1] == "... and 30 more"
    assert report_record["ParseWarningCount"] == 50


def _item_without_value_type() -> Dataset:
    item = Dataset()
    item.ConceptNameCodeSequence = Sequence([_code_ds(codes.DCM.KVP)])
    return item


@pytest.mark.parametrize("seed", range(6))
def test_valid_reports_never_raise(seed):
    ds, truth = make_ct_dose_sr(seed=seed, spiral_count=1 + seed % 2, quirks=seed % 3 == 0,
                                dual_source=seed % 2 == 1, long_comment=seed % 4 == 0,
                                charset=[None, "ISO_IR 100", "ISO_IR 192"][seed % 3])
    assert len(dose_records(roundtrip(ds))) == 1 + truth["number_of_events"]


# --- instance record --------------------------------------------------------------------------


def test_instance_record_is_orthanc_simplified_without_binary():
    ds = Dataset()
    ds.PatientName = "Doe^Jane"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.Rows, ds.Columns = 2, 2
    ds.PixelSpacing = ["0.5", "0.5"]
    ds.SliceThickness = "1.25"
    ds.ImageComments = "x" * 300  # LT; Orthanc would say null
    ds.add_new(0x7FE00010, "OW", b"\0" * 8)  # PixelData
    ds.add_new(0x00091010, "OB", b"\x01\x02")
    ds.add_new(0x00091011, "UN", b"\x01\x02")
    ds.add_new(0x00090010, "LO", "ACME private")
    ds.add_new(0x00091012, "LO", "private value")
    ds.add_new(0x00280009, "AT", 0x00185050)  # FrameIncrementPointer
    item = Dataset()
    item.CodeValue, item.CodeMeaning = "T-D0050", "Tissue"
    ds.AnatomicRegionSequence = Sequence([item])
    record = instance_record(ds)
    assert record["PatientName"] == "Doe^Jane"
    assert record["ImageType"] == "ORIGINAL\\PRIMARY\\AXIAL"
    assert record["Rows"] == "2" and record["PixelSpacing"] == "0.5\\0.5"
    assert record["SliceThickness"] == "1.25"
    assert record["ImageComments"] == "x" * 300
    assert record["AnatomicRegionSequence"] == [{"CodeValue": "T-D0050", "CodeMeaning": "Tissue"}]
    assert record["0009,0010"] == "ACME private" and record["0009,1012"] == "private value"
    assert record["FrameIncrementPointer"] == "0018,5050"
    assert "PixelData" not in record and "0009,1010" not in record and "0009,1011" not in record
    assert all(isinstance(v, (str, list)) for v in record.values())


def test_instance_record_of_an_sr_leaves_its_content_tree_out():
    ds, truth = make_ct_dose_sr(long_comment=True)
    record = instance_record(roundtrip(ds))
    assert record["SOPInstanceUID"] == truth["sop_instance_uid"]
    assert record["SeriesDescription"] == "Dose Record"
    assert "TransferSyntaxUID" not in record  # file meta is not a tag of the instance
    assert "ContentSequence" not in record and record["ContentItemsOmitted"] == len(ds.ContentSequence)
    assert record["ConceptNameCodeSequence"][0]["CodeValue"] == "113701"
    whole = instance_record(roundtrip(ds), content_tree=True)
    comment = [i for i in whole["ContentSequence"] if i.get("TextValue") == truth["comment"]]
    assert len(comment) == 1 and "ContentItemsOmitted" not in whole


# --- purity -----------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [flatten, dose_concepts, dose_units, dose_fields, record_size])
def test_core_modules_do_not_import_airflow(module):
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m.split(".")[0] == "airflow"]
