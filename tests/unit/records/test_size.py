"""records.size: the byte cap and how an oversized record sheds values."""

from __future__ import annotations

import pytest

from copydicom_provider.records.size import (
    CUT_CHARS,
    CUT_MARK,
    DEFAULT_MAX_RECORD_BYTES,
    MAX_NAMES,
    PROTECTED,
    fit_record,
    max_record_bytes,
    record_bytes,
)

LIMIT = 2_000


@pytest.fixture
def identity() -> dict[str, str]:
    """The keys that identify a record, small enough to fit under any accepted cap."""
    return {"RecordType": "instance", "RecordKey": "k1", "SOPInstanceUID": "1.2.3", "OrthancInstanceID": "abc"}


def test_cap_defaults_when_the_variable_is_unset_or_empty(monkeypatch):
    monkeypatch.delenv("COPYDICOM_MAX_RECORD_BYTES", raising=False)
    assert max_record_bytes() == DEFAULT_MAX_RECORD_BYTES == 9_500
    monkeypatch.setenv("COPYDICOM_MAX_RECORD_BYTES", "")
    assert max_record_bytes() == DEFAULT_MAX_RECORD_BYTES


def test_cap_from_the_variable_and_an_explicit_value_wins(monkeypatch):
    monkeypatch.setenv("COPYDICOM_MAX_RECORD_BYTES", "3000")
    assert max_record_bytes() == 3000
    assert max_record_bytes("2500") == 2500
    assert max_record_bytes(4000) == 4000


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "COPYDICOM_MAX_RECORD_BYTES must be a number of bytes, not 'abc'"),
    (1999, "the record size cap must be at least 2000 bytes, not 1999"),
    ("0", "at least 2000 bytes, not 0"),
])
def test_cap_refuses_non_numbers_and_tiny_caps(value, message):
    with pytest.raises(ValueError, match=message):
        max_record_bytes(value)


def test_record_bytes_is_compact_utf8_json():
    assert record_bytes({"a": 1}) == len('{"a":1}')
    assert record_bytes({"a": "\u00e9"}) == len('{"a":""}') + 2  # e-acute is two bytes in UTF-8, not \u00e9


def test_a_record_that_fits_is_returned_unchanged(identity):
    record = {**identity, "Comment": "short"}
    assert fit_record(record, LIMIT) is record
    assert "OmittedForSize" not in record


def test_series_go_first_and_the_input_is_not_changed(identity):
    record = {**identity, "KVP": 120, "KVP_series": [120] * 300, "Comment": "c" * 1_500}
    before = dict(record)
    out = fit_record(record, LIMIT)
    assert record == before
    assert "KVP_series" not in out and out["KVP"] == 120 and out["Comment"] == "c" * 1_500
    assert out["OmittedForSize"] == "KVP_series"
    assert record_bytes(out) <= LIMIT


def test_a_long_string_is_cut_to_a_prefix_and_named(identity):
    out = fit_record({**identity, "Comment": "a" * 3_000, "Other": "x"}, LIMIT)
    assert out["Comment"] == "a" * CUT_CHARS + CUT_MARK
    assert out["Other"] == "x"
    assert out["OmittedForSize"] == "Comment (cut)"


def test_the_largest_value_goes_first_and_lists_are_dropped_whole(identity):
    out = fit_record({**identity, "Big": list(range(400)), "Small": list(range(150))}, LIMIT)
    assert "Big" not in out and out["Small"] == list(range(150))
    assert out["OmittedForSize"] == "Big"


def test_protected_keys_stay_and_are_cut_only_when_nothing_else_is_left(identity):
    record = {**identity, "RecordKey": "r" * 3_000, "Comment": "x" * 50}
    out = fit_record(record, LIMIT)
    assert set(identity) <= set(out)
    assert out["RecordKey"] == "r" * CUT_CHARS + CUT_MARK
    assert out["OmittedForSize"] == "Comment, RecordKey (cut)"
    assert record_bytes(out) <= LIMIT


def test_the_note_names_at_most_max_names_keys(identity):
    record = {**identity, **{f"K{n:03}": "v" * 50 for n in range(100)}}
    out = fit_record(record, LIMIT)
    dropped = [key for key in record if key not in out]
    assert len(dropped) > MAX_NAMES
    names = out["OmittedForSize"].split(", ")
    assert len(names) == MAX_NAMES + 1
    assert set(names[:MAX_NAMES]) <= set(dropped)
    assert names[-1] == f"... and {len(dropped) - MAX_NAMES} more"
    assert record_bytes(out) <= LIMIT


def test_protected_names_are_the_identifying_keys():
    assert {"RecordKey", "SOPInstanceUID", "StudyInstanceUID", "IrradiationEventUID", "OmittedForSize"} <= PROTECTED
    assert not any(key.endswith("_series") for key in PROTECTED)
