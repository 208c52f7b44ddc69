"""The one reading decision: the lean value where it answers, pydicom's otherwise (and always with lean=False)."""

from __future__ import annotations

import io

from pydicom import dcmread
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset

from copydicom_provider.dicom.values import UNREAD, dataset_element, read_value


def _raw(vr: str, value: bytes, tag: int = 0x00100010) -> RawDataElement:
    return RawDataElement(tag, vr, len(value), value, 0, False, True)


def test_read_value_takes_the_lean_reading_where_it_answers():
    calls: list[str] = []

    def full() -> str:
        calls.append("pydicom")
        return "by pydicom"

    assert read_value(_raw("LO", b"Plain "), full) == "Plain" and not calls
    assert read_value(_raw("LO", "Lésion".encode("latin-1")), full) == "by pydicom" and calls == ["pydicom"]
    assert read_value(_raw("LO", b"Plain"), full, lean=False) == "by pydicom" and len(calls) == 2


def _file() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "Müller^Jürgen"
    ds.PatientID = "MRN-1"
    ds.Rows = 2
    ds.add_new(0x00091010, "OB", b"\x00\x01")
    buffer = io.BytesIO()
    ds.save_as(buffer, implicit_vr=False, little_endian=True)
    return dcmread(io.BytesIO(buffer.getvalue()), force=True)


def test_dataset_element_gives_text_an_element_or_unread_and_leaves_the_data_set_unconverted():
    ds = _file()
    encoding = ds.original_character_set
    raws = {int(tag): raw for tag, raw in ds.items()}
    assert dataset_element(ds, 0x00100020, raws[0x00100020], encoding) == "MRN-1"
    name = dataset_element(ds, 0x00100010, raws[0x00100010], encoding)  # non-ASCII: pydicom's conversion
    assert isinstance(name, DataElement) and str(name.value) == "Müller^Jürgen"
    assert isinstance(ds._dict[0x00100010], RawDataElement)  # converted, not stored back
    assert dataset_element(ds, 0x00091010, raws[0x00091010], encoding) is UNREAD
    charset = dataset_element(ds, 0x00080005, raws[0x00080005], encoding)  # always pydicom's ds[tag]
    assert isinstance(charset, DataElement) and charset.value == "ISO_IR 100"
