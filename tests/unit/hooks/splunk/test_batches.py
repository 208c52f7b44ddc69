"""hooks.splunk.batches: envelopes encoded for HEC, their checks, and the batches they travel in."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from copydicom_provider.hooks.splunk.batches import Batch, checked_fields, dedupe_key, encode_envelope


@pytest.fixture
def batch() -> Batch:
    return Batch([b"a", b"b", b"c", b"d"], [5, 6, 7, 8], ["ka", "kb", "kc", "kd"], frozenset({"dicom"}), "timeout")


def test_an_envelope_is_compact_utf8_json():
    assert encode_envelope({"event": {"Name": "Gr\u00fcn"}, "index": "dicom"}, 1) == \
        '{"event":{"Name":"Gr\u00fcn"},"index":"dicom"}'.encode()


def test_dates_decimals_and_sets_are_encoded():
    when = datetime(2025, 7, 1, 12, 30, tzinfo=timezone.utc)
    event = {"when": when, "day": date(2025, 7, 1), "dose": Decimal("1.5"), "tags": ("a", "b"), "one": {"x"}}
    assert json.loads(encode_envelope({"event": event}, 1))["event"] == {
        "when": "2025-07-01T12:30:00+00:00", "day": "2025-07-01", "dose": 1.5, "tags": ["a", "b"], "one": ["x"]}


@pytest.mark.parametrize(("envelope", "message"), [
    ({"fields": {}}, "envelope 4 has no 'event' (Splunk requires it)"),
    ({"event": {"v": float("nan")}}, "envelope 4 cannot be sent as JSON: Out of range float values"),
    ({"event": {"v": object()}}, "envelope 4 cannot be sent as JSON: object is not JSON serializable"),
    ({"event": {}, "fields": {"k": {"nested": 1}}}, "indexed field 'k' of envelope 4 must be a string"),
])
def test_an_envelope_that_cannot_be_sent_is_refused(envelope, message):
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        encode_envelope(envelope, 4)


def test_fields_none_is_not_checked():
    assert json.loads(encode_envelope({"event": "x", "fields": None}, 1)) == {"event": "x", "fields": None}


def test_flat_fields_pass_and_are_copied():
    fields = {"s": "x", "n": 3, "f": 1.5, "l": ["a", "b", 2]}
    checked = checked_fields(fields)
    assert checked == fields and checked is not fields


@pytest.mark.parametrize("value", [True, None, {"a": "b"}, ["a", None], ["a", ["b"]], [False]])
def test_other_field_values_are_refused(value):
    with pytest.raises(ValueError, match=r"^indexed field 'k' must be a string or a list of strings$"):
        checked_fields({"k": value})


@pytest.mark.parametrize("fields", [None, {}, {"Key": ""}, {"Key": ["a"]}, {"Key": 3}, {"Other": "a"}])
def test_a_dedupe_key_must_be_one_non_empty_string(fields):
    with pytest.raises(ValueError, match=r"^envelope 2 has no indexed field 'Key' with a single non-empty string"):
        dedupe_key({"event": {}, "fields": fields}, "Key", 2)


def test_the_dedupe_key():
    assert dedupe_key({"event": {}, "fields": {"Key": "abc"}}, "Key", 1) == "abc"


def test_first_and_span(batch):
    assert batch.first == 5
    assert batch.span() == "events 5-8"
    assert batch.part(1, 2).span() == "event 6"


def test_advance_drops_the_sent_envelopes_and_their_keys(batch):
    batch.advance(3)
    assert (batch.events, batch.numbers, batch.keys) == ([b"d"], [8], ["kd"])
    keyless = Batch([b"a", b"b"], [1, 2])
    keyless.advance(1)
    assert (keyless.events, keyless.numbers, keyless.keys) == ([b"b"], [2], None)


def test_a_part_keeps_the_indexes_but_not_the_doubt(batch):
    part = batch.part(1, 3)
    assert (part.events, part.numbers, part.keys, part.indexes, part.unsure) == (
        [b"b", b"c"], [6, 7], ["kb", "kc"], frozenset({"dicom"}), None)
    assert batch.part(2).numbers == [7, 8]
    assert Batch([b"a"], [1]).part(0).keys is None


def test_discard_drops_the_envelopes_already_indexed(batch):
    assert batch.discard({"kb", "kd", "other"}) == 2
    assert (batch.events, batch.numbers, batch.keys) == ([b"a", b"c"], [5, 7], ["ka", "kc"])
    assert batch.discard(set()) == 0


def test_discard_without_keys_drops_nothing():
    keyless = Batch([b"a"], [1])
    assert keyless.discard({"a"}) == 0
    assert keyless.events == [b"a"]
