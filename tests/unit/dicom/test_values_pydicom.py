"""The lean value reader gives exactly what pydicom's own conversion gives, or steps aside.

For every VR it reads, thousands of random values built from the characters that matter (padding,
backslashes, signs, exponents, component separators, non-ASCII and control bytes) are converted
both ways: where :func:`lean_value` answers, its text equals ``str()`` of pydicom's value (joined
by ``\\``) and its kind matches (one value or several); where pydicom refuses a value, the lean
reader has stepped aside (:data:`NOT_LEAN`), so the caller meets pydicom's own error.
"""

from __future__ import annotations

import random
import struct

import pytest
from pydicom import config
from pydicom.dataelem import RawDataElement, convert_raw_data_element
from pydicom.multival import MultiValue

from copydicom_provider.dicom.values import NOT_LEAN, lean_text, lean_value

TEXT_VRS = ("AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT")
NUMBER_VRS = {"US": "H", "UL": "L", "SS": "h", "SL": "l", "FL": "f", "FD": "d", "SV": "q", "UV": "Q"}
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom's own notes on odd values
ALPHABET = [" ", " ", "\\", "0", "1", "7", ".", "+", "-", "e", "E", "^", "=", "A", "z", "_", ":", "\x00", "\t",
            "\x1b", "\xe9"]
NUMERIC_ALPHABET = [*"0123456789" * 3, " ", "\\", ".", "+", "-", "e", "A", "\x00"]


def _raw(vr: str, value: bytes, little_endian: bool = True) -> RawDataElement:
    return RawDataElement(0x00091001, vr, len(value), value, 0, False, little_endian, True, False)


def _pydicom_text(raw: RawDataElement) -> tuple[str, bool] | None:
    """(text, several values?) as the records write pydicom's value; None when pydicom refuses it."""
    try:
        value = convert_raw_data_element(raw, encoding=["iso8859"]).value
    except Exception:
        return None
    if isinstance(value, (list, MultiValue)):
        return "\\".join(str(v) for v in value), True
    return ("" if value is None else str(value)), False


def _values(rng: random.Random, vr: str) -> list[bytes]:
    out = [b"", b" ", b"\\", b"1", b"1.50", b" 1.5 ", b"+5\\-0\\007", b"1.5e3\\.5", b"Doe^John", b"Doe^John=",
           b"Doe^John=\xe9", b"A \\B ", b"  AE  \\ X", b"1\\\\2", b"nan", b"inf"]
    alphabet = NUMERIC_ALPHABET if vr in ("DS", "IS") else ALPHABET
    out.extend("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))).encode("latin-1") for _ in range(3000))
    return out


@pytest.mark.parametrize("vr", TEXT_VRS)
def test_text_values_read_as_pydicom_reads_them(vr):
    rng = random.Random(vr)
    answered = 0
    for value in _values(rng, vr):
        raw = _raw(vr, value)
        lean = lean_value(raw)
        expected = _pydicom_text(raw)
        if lean is NOT_LEAN:
            continue
        assert expected is not None, f"{vr} {value!r}: pydicom refuses it, the lean reader answered {lean!r}"
        assert (lean_text(raw), isinstance(lean, list)) == expected, f"{vr} {value!r}"
        answered += 1
    assert answered > 100, f"{vr}: the lean reader should answer plain values, answered {answered}"


@pytest.mark.parametrize("vr", sorted(NUMBER_VRS))
@pytest.mark.parametrize("little_endian", [True, False])
def test_binary_numbers_read_as_pydicom_reads_them(vr, little_endian):
    rng = random.Random(vr)
    size = struct.calcsize("<" + NUMBER_VRS[vr])
    for _ in range(500):
        value = bytes(rng.getrandbits(8) for _ in range(size * rng.randint(1, 4) + rng.choice([0, 0, 0, 1])))
        raw = _raw(vr, value, little_endian)
        lean, expected = lean_value(raw), _pydicom_text(raw)
        if len(value) % size:
            assert lean is NOT_LEAN
            continue
        assert (lean_text(raw), isinstance(lean, list)) == expected, f"{vr} {value!r}"


def test_what_needs_pydicom_is_left_to_it():
    assert lean_value(_raw("AT", b"\x10\x00\x10\x00")) is NOT_LEAN
    assert lean_value(_raw("SQ", b"\xfe\xff\x00\xe0\x00\x00\x00\x00")) is NOT_LEAN
    assert lean_value(_raw("LO", "Lésion".encode("latin-1"))) is NOT_LEAN  # the character set decides
    assert lean_value(_raw("US", b"")) is NOT_LEAN  # pydicom's empty value of a number
    assert lean_value(_raw("LO", b"")) == "" and lean_value(_raw("UI", b"1.2\x00")) == "1.2"
    assert lean_value(RawDataElement(0x00100010, None, 3, b"Doe", 0, True, True, True, False)) is NOT_LEAN
    assert lean_value(_raw("DS", b"1.5")) == "1.5"


def test_a_lut_descriptors_first_value_is_left_to_pydicom_which_reads_it_unsigned():
    raw = RawDataElement(0x00283002, "SS", 6, struct.pack("<hhh", -32768, 0, 16), 0, False, True, True, False)
    assert lean_value(raw) is NOT_LEAN
    assert convert_raw_data_element(raw).value[0] == 32768


def test_options_that_change_values_turn_the_lean_reader_off(monkeypatch):
    monkeypatch.setattr(config, "datetime_conversion", True)
    assert lean_value(_raw("DA", b"20240314")) is NOT_LEAN
    monkeypatch.setattr(config, "datetime_conversion", False)
    monkeypatch.setattr(config, "use_DS_decimal", True)
    assert lean_value(_raw("DS", b"1.5")) is NOT_LEAN
    monkeypatch.setattr(config, "use_DS_decimal", False)
    assert lean_value(_raw("DS", b"1.5")) == "1.5"
    from pydicom import hooks
    monkeypatch.setattr(hooks.hooks, "raw_element_value", hooks.raw_element_value_fix_separator)
    assert lean_value(_raw("DS", b"1.5")) is NOT_LEAN, "a conversion hook of the user's decides"
