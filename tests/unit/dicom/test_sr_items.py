"""Dose records read through the lean content-item view equal those read wholly through pydicom.

``dose_records(ds)`` cuts plain sequences itself and reads plain values without pydicom's
bookkeeping (:mod:`copydicom_provider.dicom.sr_items`); ``dose_records(ds, lean=False)`` reads every
item and value through pydicom, as before the throughput work. The corpus covers what a lean reader
could get wrong: every odd item the generator knows, quirky and dual-source CT, fluoroscopy with
long per-pulse series, non-ASCII text in a declared character set, implicit VR, big endian,
sequences of undefined length, and a sequence cut short.
"""

from __future__ import annotations

import io
import struct

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian

from copydicom_provider.records.dose import dose_records
from copydicom_provider.testing.dose_sr import ODD_ITEMS, make_ct_dose_sr, to_bytes
from copydicom_provider.testing.dose_sr_projection import make_fluoro_dose_sr


def _both_ways(data: bytes) -> tuple[list, list]:
    lean = dose_records(dcmread(io.BytesIO(data), force=True))
    reference = dose_records(dcmread(io.BytesIO(data), force=True), lean=False)
    return lean, reference


def _written(ds: Dataset, transfer_syntax=None, *, undefined_lengths: bool = False) -> bytes:
    if undefined_lengths:
        _mark_undefined(ds)
    if transfer_syntax is not None:
        ds.file_meta.TransferSyntaxUID = transfer_syntax
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _mark_undefined(ds: Dataset) -> None:
    for element in ds:
        if element.VR == "SQ":
            element.value.is_undefined_length = True
            for item in element.value:
                item.is_undefined_length_sequence_item = True
                _mark_undefined(item)


CT_CASES = [
    {"seed": 1},
    {"seed": 2, "spiral_count": 3, "dual_source": True},
    {"seed": 3, "quirks": True},
    {"seed": 4, "odd_items": True},
    *({"seed": 10 + n, "odd_items": [odd]} for n, odd in enumerate(ODD_ITEMS)),
]


@pytest.mark.parametrize("options", CT_CASES, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_ct_reports_read_the_same(options):
    ds, _ = make_ct_dose_sr(**options)
    lean, reference = _both_ways(to_bytes(ds))
    assert lean == reference and len(lean) > 1


@pytest.mark.parametrize("charset", [None, "ISO_IR 100", "ISO_IR 192"])
def test_fluoroscopy_reports_read_the_same(charset):
    ds, _ = make_fluoro_dose_sr(seed=5, events=6, long_series_event=2, long_series_pulses=300, charset=charset)
    lean, reference = _both_ways(to_bytes(ds))
    assert lean == reference and len(lean) == 7


@pytest.mark.parametrize("layout", ["implicit", "big-endian", "undefined-lengths"])
def test_other_encodings_read_the_same(layout):
    ds, _ = make_ct_dose_sr(seed=6, quirks=True)
    data = {
        "implicit": lambda: _written(ds, ImplicitVRLittleEndian),
        "big-endian": lambda: _written(ds, ExplicitVRBigEndian),
        "undefined-lengths": lambda: _written(ds, undefined_lengths=True),
    }[layout]()
    lean, reference = _both_ways(data)
    assert lean == reference and len(lean) > 1


def test_non_ascii_text_and_an_item_with_its_own_character_set_read_the_same():
    ds, _ = make_ct_dose_sr(seed=7)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.StudyDescription = "Thorax-Abdomen Kontrastmittel für Läsion"
    first = ds.ContentSequence[0]
    if "TextValue" in first:
        first.TextValue = "Schädel"
    own = Dataset()
    own.SpecificCharacterSet = "ISO_IR 192"
    own.ValueType = "TEXT"
    own.RelationshipType = "CONTAINS"
    concept = Dataset()
    concept.CodeValue, concept.CodingSchemeDesignator, concept.CodeMeaning = "121106", "DCM", "Comment"
    own.ConceptNameCodeSequence = Sequence([concept])
    own.TextValue = "Übersicht ✓"
    ds.ContentSequence.append(own)
    lean, reference = _both_ways(to_bytes(ds))
    assert lean == reference
    assert lean[0]["StudyDescription"] == "Thorax-Abdomen Kontrastmittel für Läsion"
    assert lean[0].get("Comment") == "Übersicht ✓"


def test_a_sequence_cut_short_is_read_as_pydicom_reads_it():
    ds, _ = make_ct_dose_sr(seed=8)
    data = to_bytes(ds)
    cut = data[: len(data) - 40]  # the last item's elements end mid-value
    lean, reference = _both_ways(cut)
    assert lean == reference


def test_an_element_running_past_its_item_is_read_as_pydicom_reads_it():
    ds, _ = make_ct_dose_sr(seed=3)
    data = bytearray(to_bytes(ds))
    code_meaning = data.find(b"\x08\x00\x04\x01LO", len(data) // 2)  # a CodeMeaning deep in the tree
    length = struct.unpack_from("<H", data, code_meaning + 6)[0]
    struct.pack_into("<H", data, code_meaning + 6, length + 4)  # declared 4 bytes longer than it is
    lean, reference = _both_ways(bytes(data))
    assert lean == reference and lean
