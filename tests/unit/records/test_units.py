"""Units of dose values: every unit normalised and scaled to the one unit of its key, never mixed."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from copydicom_provider.records.concepts import CONCEPT_KEYS, normalise_unit
from copydicom_provider.records.units import KEY_UNITS, UnitError, key_unit
from copydicom_provider.testing.dose_sr import num_item
from tests.support.sr_trees import UCUM, ct_event, events_of, report

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("unit", "value", "expected", "expected_unit"), [
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


@pytest.mark.parametrize(("unit", "expected", "factor"), [
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


def test_docs_units_table_matches_key_units():
    text = (REPO / "docs" / "dose-records.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| `([^`]+)` \|$", text, flags=re.M)
    assert dict(rows) == KEY_UNITS and len(rows) == len(KEY_UNITS)
    assert set(KEY_UNITS) <= set(CONCEPT_KEYS.values())  # every unit row is a key of the table


@pytest.mark.parametrize(("key", "unit", "value", "expected", "expected_unit"), [
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
