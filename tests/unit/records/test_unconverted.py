"""A number whose unit is missing or unknown never lands in a key that has a unit: it is kept apart, with a warning."""

from __future__ import annotations

import io

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from copydicom_provider.records.dose import dose_records
from copydicom_provider.records.units import UnknownUnit, key_unit, needs_unit
from copydicom_provider.testing.sr_content import code_item, container, num_item
from tests.support.sr_trees import UCUM, ct_event, report

XRAY_EVENT = Code("113706", "DCM", "Irradiation Event X-Ray Data")
DAP = Code("122130", "DCM", "Dose Area Product")
EXPOSURE_TIME = Code("113735", "DCM", "Exposure Time")


def unitless(concept: Code, value: str, *, empty_sequence: bool) -> Dataset:
    """A NUM item whose measured value has an empty unit sequence, or none at all."""
    item = num_item(concept, value, UCUM("x"))
    measured = item.MeasuredValueSequence[0]
    if empty_sequence:
        measured.MeasurementUnitsCodeSequence = Sequence([])
    else:
        del measured.MeasurementUnitsCodeSequence
    return item


def projection_event(*children: Dataset) -> Dataset:
    return container(XRAY_EVENT, list(children))


def from_file(ds: Dataset) -> Dataset:
    """The report written as explicit VR little endian and read back, as the job reads it."""
    buffer = io.BytesIO()
    ds.save_as(buffer, implicit_vr=False, little_endian=True)
    return dcmread(io.BytesIO(buffer.getvalue()), force=True)


@pytest.fixture(params=["pydicom", "file"])
def read(request):
    """The records of a report, from the data set as built and from its bytes (the lean reader)."""
    def records(ds: Dataset) -> list[dict]:
        return dose_records(from_file(ds) if request.param == "file" else ds)
    return records


def test_dap_in_decigray_square_centimetres_is_converted_to_gray_square_metres(read):
    _, event = read(report([projection_event(num_item(DAP, "1.323", UCUM("dGy.cm2")))]))
    assert event["DoseAreaProduct"] == pytest.approx(1.323e-5)
    assert event["DoseAreaProduct_unit"] == "Gy.m2" and "ParseWarnings" not in event


@pytest.mark.parametrize("empty_sequence", [False, True], ids=["no unit", "empty unit sequence"])
def test_a_dap_without_a_unit_is_kept_apart_and_named(read, empty_sequence):
    tree = report([projection_event(unitless(DAP, "1.323", empty_sequence=empty_sequence))])
    dose_report, event = read(tree)
    assert "DoseAreaProduct" not in event and "DoseAreaProduct_unit" not in event
    assert event["DoseAreaProduct_Unconverted"] == 1.323
    assert event["DoseAreaProduct_UnconvertedUnit"] == ""
    reason = "has an empty unit sequence" if empty_sequence else "has no unit"
    assert event["ParseWarnings"] == (
        f"1.1.1: NUM item DoseAreaProduct (DCM:122130 'Dose Area Product') {reason}; "
        "kept as DoseAreaProduct_Unconverted, not in DoseAreaProduct")
    assert dose_report["ParseWarningCount"] == 1


def test_an_unknown_unit_is_kept_apart_with_its_raw_spelling(read):
    tree = report([ct_event(num_item(codes.DCM.DLP, "12", UCUM("furlong")),
                            num_item(codes.DCM.MeanCtdivol, "3.5", UCUM("mGy")))])
    _, event = read(tree)
    assert "DLP" not in event and "DLP_unit" not in event
    assert (event["DLP_Unconverted"], event["DLP_UnconvertedUnit"]) == (12, "furlong")
    assert (event["CTDIvol"], event["CTDIvol_unit"]) == (3.5, "mGy")
    assert event["ParseWarnings"].startswith("1.1.1: NUM item DLP (DCM:113838 'DLP') has unit 'furlong'")
    with pytest.raises(UnknownUnit):
        key_unit("DLP", "furlong")


def test_a_unit_without_a_code_value_is_named_by_its_meaning(read):
    item = num_item(codes.DCM.DLP, "12", UCUM("furlong"))
    del item.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue
    _, event = read(report([ct_event(item)]))
    assert event["DLP_UnconvertedUnit"] == "furlong" and "DLP" not in event


def test_times_in_ms_and_s_are_both_in_seconds_and_a_unitless_one_stays_out(read):
    tree = report([
        projection_event(num_item(EXPOSURE_TIME, "52", UCUM("ms"))),
        projection_event(num_item(EXPOSURE_TIME, "0.052", UCUM("s"))),
        projection_event(num_item(EXPOSURE_TIME, "52", UCUM("MS")), num_item(EXPOSURE_TIME, "1", UCUM("s"))),
        projection_event(unitless(EXPOSURE_TIME, "52", empty_sequence=False)),
    ])
    _, ms, s, mixed, bare = read(tree)
    assert (ms["ExposureTime"], ms["ExposureTime_unit"]) == (pytest.approx(0.052), "s")
    assert (s["ExposureTime"], s["ExposureTime_unit"]) == (pytest.approx(0.052), "s")
    assert (mixed["ExposureTime_min"], mixed["ExposureTime_max"]) == (pytest.approx(0.052), 1)
    assert mixed["ExposureTime"] == pytest.approx(0.526)
    assert "ExposureTime" not in bare and bare["ExposureTime_Unconverted"] == 52
    assert bare["ParseWarnings"].startswith("1.4.1: NUM item ExposureTime")


def test_unconverted_values_of_one_key_are_summarised_and_a_second_raw_unit_is_refused(read):
    tree = report([ct_event(num_item(codes.DCM.DLP, "10", UCUM("furlong")),
                            num_item(codes.DCM.DLP, "20", UCUM("furlong")),
                            num_item(codes.DCM.DLP, "5", UCUM("parsec")))])
    _, event = read(tree)
    assert (event["DLP_Unconverted"], event["DLP_Unconverted_count"]) == (15, 2)
    assert event["DLP_UnconvertedUnit"] == "furlong" and "DLP" not in event
    refused = ("1.1.3: NUM item DLP (DCM:113838 'DLP') has unit 'parsec', which is not known, the record "
               "holds DLP_Unconverted in 'furlong'; skipped")
    assert refused in event["ParseWarnings"]


def test_ratios_and_keys_without_a_unit_of_their_own_need_no_unit(read):
    tree = report([ct_event(unitless(codes.DCM.PitchFactor, "1.2", empty_sequence=False),
                            unitless(Code("113768", "DCM", "Number of Pulses"), "7", empty_sequence=True))])
    _, event = read(tree)
    assert (event["PitchFactor"], event["NumberOfPulses"]) == (1.2, 7)
    assert "ParseWarnings" not in event
    assert not needs_unit("PitchFactor") and not needs_unit("NumberOfPulses") and needs_unit("DLP")


ACCUMULATED = Code("113702", "DCM", "Accumulated X-Ray Dose Data")
PLANE = Code("113764", "DCM", "Acquisition Plane")
PLANES = {"A": Code("113620", "DCM", "Plane A"), "B": Code("113621", "DCM", "Plane B")}
DAP_TOTAL = Code("113722", "DCM", "Dose Area Product Total")


def test_a_per_plane_total_with_a_plane_unconverted_gives_no_sum_that_would_pass_for_the_total(read):
    """Biplane: plane B's DAP total has no unit. Plane A alone is not the exam's DAP total."""
    tree = report([
        container(ACCUMULATED, [code_item(PLANE, PLANES["A"]), num_item(DAP_TOTAL, "2.5", UCUM("Gy.m2"))]),
        container(ACCUMULATED, [code_item(PLANE, PLANES["B"]), unitless(DAP_TOTAL, "1.5", empty_sequence=False)]),
    ])
    (record,) = read(tree)
    assert "DoseAreaProductTotal" not in record
    assert (record["DoseAreaProductTotal_PlaneA"], record["DoseAreaProductTotal_unit"]) == (2.5, "Gy.m2")
    assert record["DoseAreaProductTotal_Unconverted_PlaneB"] == 1.5
    assert record["DoseAreaProductTotal_UnconvertedUnit"] == ""
    assert "NUM item DoseAreaProductTotal (DCM:113722 'Dose Area Product Total') has no unit" in record[
        "ParseWarnings"]
    both = report([  # both planes converted: the sum is the total, as before
        container(ACCUMULATED, [code_item(PLANE, PLANES["A"]), num_item(DAP_TOTAL, "2.5", UCUM("Gy.m2"))]),
        container(ACCUMULATED, [code_item(PLANE, PLANES["B"]), num_item(DAP_TOTAL, "15000", UCUM("Gy.cm2"))]),
    ])
    (whole,) = read(both)
    assert whole["DoseAreaProductTotal"] == pytest.approx(4.0)


@pytest.mark.parametrize("unit", ["1", "{ratio}"])
def test_a_dose_whose_unit_says_no_unit_is_kept_apart_not_dropped(read, unit):
    """UCUM's ``1`` is no unit: a DAP written so has no scale, like one without a unit sequence."""
    _, event = read(report([projection_event(num_item(DAP, "1.323", UCUM(unit)))]))
    assert "DoseAreaProduct" not in event and "DoseAreaProduct_unit" not in event
    assert (event["DoseAreaProduct_Unconverted"], event["DoseAreaProduct_UnconvertedUnit"]) == (1.323, unit)
    assert event["ParseWarnings"] == (f"1.1.1: NUM item DoseAreaProduct (DCM:122130 'Dose Area Product') has unit "
                                      f"{unit!r}, which means no unit; kept as DoseAreaProduct_Unconverted, not in "
                                      "DoseAreaProduct")
    with pytest.raises(UnknownUnit):
        key_unit("DoseAreaProduct", unit)
    assert key_unit("PitchFactor", unit) == ("{ratio}", 1)  # a ratio's own unit


def test_a_key_with_some_values_unconverted_gives_no_mean_but_keeps_the_converted_values(read):
    tree = report([ct_event(num_item(codes.DCM.DLP, "10", UCUM("mGy.cm")),
                            unitless(codes.DCM.DLP, "20", empty_sequence=False))])
    _, event = read(tree)
    assert "DLP" not in event and "DLP_min" not in event and "DLP_count" not in event
    assert (event["DLP_series"], event["DLP_unit"]) == ([10], "mGy.cm")
    assert (event["DLP_Unconverted"], event["DLP_UnconvertedUnit"]) == (20, "")
