"""The text forms the records write: one value one way, wherever it came from."""

from __future__ import annotations

import pytest
from pydicom.multival import MultiValue

from copydicom_provider.dicom.text import iso_date, iso_datetime, iso_time, value_text


def test_value_text_joins_several_values_and_writes_tags_and_bytes_as_text():
    assert value_text(None) == "" and value_text("Doe^John") == "Doe^John" and value_text(1.5) == "1.5"
    assert value_text(["A", "B"]) == "A\\B" and value_text(MultiValue(str, ["1", "2"])) == "1\\2"
    assert value_text(0x00100010, "AT") == "0010,0010" and value_text([0x00100010, 0x00100020], "AT") == \
        "0010,0010\\0010,0020"
    assert value_text(b"plain") == "plain" and value_text(b"\xff") == "\ufffd"


@pytest.mark.parametrize(("raw", "iso"), [
    ("20240314093000.5+0100", "2024-03-14T09:30:00.5+01:00"), ("202403", "2024-03"), ("2024031409", "2024-03-14T09"),
    (" 20240314 ", "2024-03-14"), ("2024XX", None), ("202403T", None),
])
def test_iso_datetime(raw, iso):
    assert iso_datetime(raw) == iso


def test_iso_date_and_time():
    assert iso_date("20240314") == "2024-03-14" and iso_date("2024-03-14") is None and iso_date("202403") is None
    assert iso_time("093000.25") == "09:30:00.25" and iso_time("0930") == "09:30" and iso_time("09") == "09"
    assert iso_time("09:30:00") == "09:30:00" and iso_time("9:30") is None and iso_time("") is None
