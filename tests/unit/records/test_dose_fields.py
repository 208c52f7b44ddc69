"""records.dose_fields: gathered values -> flat record keys, every number a scalar."""

from __future__ import annotations

from decimal import Decimal

import pytest

from copydicom_provider.records.dose_fields import (
    MAX_WARNINGS,
    WARNING_SEPARATOR,
    GroupLabel,
    RecordFields,
    json_number,
)


def numbers(key: str, entries: list[tuple[str, GroupLabel | None]], unit: str | None = "kV") -> dict:
    fields = RecordFields()
    for value, group in entries:
        assert fields.add_number(key, Decimal(value), unit, group)
    return fields.record()


@pytest.mark.parametrize(("number", "expected"), [
    (Decimal("3"), 3), (Decimal("120.000"), 120), (Decimal("1E+2"), 100), (Decimal("-4"), -4),
    (Decimal("0.5"), 0.5), (Decimal("12.25"), 12.25), (Decimal(2**53), float(2**53)),
])
def test_json_number_gives_int_for_integral_values(number, expected):
    result = json_number(number)
    assert result == expected and type(result) is type(expected)


def test_one_value_is_the_key_and_its_unit():
    assert numbers("KVP", [("120", None)]) == {"KVP": 120, "KVP_unit": "kV"}


def test_no_unit_key_without_a_unit():
    assert numbers("NumberOfEvents", [("3", None)], unit=None) == {"NumberOfEvents": 3}


def test_ungrouped_values_are_summarised_and_kept_as_a_series():
    assert numbers("KVP", [("100", None), ("120", None), ("145", None)]) == {
        "KVP": 365 / 3, "KVP_min": 100, "KVP_max": 145, "KVP_count": 3, "KVP_series": [100, 120, 145],
        "KVP_unit": "kV",
    }


def test_one_value_per_tube_is_averaged_and_kept_per_tube_without_a_series():
    tube = GroupLabel("SourceA", False), GroupLabel("SourceB", False)
    assert numbers("KVP", [("120", tube[0]), ("100", tube[1])]) == {
        "KVP": 110, "KVP_min": 100, "KVP_max": 120, "KVP_count": 2, "KVP_SourceA": 120, "KVP_SourceB": 100,
        "KVP_unit": "kV",
    }


def test_per_plane_totals_add_up():
    plane_a, plane_b = GroupLabel("PlaneA", True), GroupLabel("PlaneB", True)
    out = numbers("DoseAreaProductTotal", [("0.002", plane_a), ("0.003", plane_b)], unit="Gy.m2")
    assert out["DoseAreaProductTotal"] == 0.005
    assert (out["DoseAreaProductTotal_PlaneA"], out["DoseAreaProductTotal_PlaneB"]) == (0.002, 0.003)
    assert "DoseAreaProductTotal_series" not in out


def test_totals_are_averaged_when_a_value_has_no_plane():
    out = numbers("DoseAreaProductTotal", [("2", GroupLabel("PlaneA", True)), ("4", None)], unit="Gy.m2")
    assert out["DoseAreaProductTotal"] == 3
    assert out["DoseAreaProductTotal_PlaneA"] == 2
    assert out["DoseAreaProductTotal_series"] == [2, 4]


def test_repeated_values_in_one_tube_keep_the_series():
    tube_a, tube_b = GroupLabel("SourceA", False), GroupLabel("SourceB", False)
    out = numbers("KVP", [("100", tube_a), ("120", tube_a), ("140", tube_b)])
    assert (out["KVP"], out["KVP_SourceA"], out["KVP_SourceB"]) == (120, 110, 140)
    assert out["KVP_series"] == [100, 120, 140]


def test_a_second_unit_for_a_key_is_refused_and_not_kept():
    fields = RecordFields()
    assert fields.add_number("ExposureTime", Decimal(2), "s", None)
    assert not fields.add_number("ExposureTime", Decimal(5), "ms", None)
    assert fields.record() == {"ExposureTime": 2, "ExposureTime_unit": "s"}


def test_text_and_codes_stay_lists_when_they_repeat():
    fields = RecordFields()
    fields.add("TargetRegion", "Chest", "SCT:51185008")
    fields.add("TargetRegion", "Abdomen", "SCT:818981001")
    fields.add("Comment", "one")
    assert fields.record() == {"TargetRegion": ["Chest", "Abdomen"],
                               "TargetRegion_code": ["SCT:51185008", "SCT:818981001"], "Comment": "one"}


def test_text_for_a_numeric_concept_is_kept_beside_it():
    fields = RecordFields()
    fields.add_number("KVP", Decimal(120), "kV", None)
    fields.add("KVP", "not measured")
    assert fields.record() == {"KVP": 120, "KVP_unit": "kV", "KVP_text": "not measured"}


def test_keys_follow_document_order():
    fields = RecordFields()
    fields.add("B", "x")
    fields.add_number("A", Decimal(1), None, None)
    fields.add("C", "y")
    fields.add("B", "z")
    assert list(fields.record()) == ["B", "A", "C"]


def test_warnings_are_one_string_capped_in_number_and_length():
    fields = RecordFields()
    fields.warn("1.2", "x" * 500)
    for n in range(MAX_WARNINGS + 4):
        fields.warn(f"1.{n}", "bad")
    warnings = fields.record()["ParseWarnings"].split(WARNING_SEPARATOR)
    assert len(warnings) == MAX_WARNINGS + 1
    assert warnings[0] == ("1.2: " + "x" * 500)[:300]
    assert warnings[1] == "1.0: bad"
    assert warnings[-1] == "... and 5 more"


def test_no_warnings_key_without_warnings():
    assert "ParseWarnings" not in RecordFields().record()
