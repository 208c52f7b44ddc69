"""Text beside the image in compressed pixel data, found from the codestream headers alone."""

from __future__ import annotations

import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, JPEGBaseline8Bit

from copydicom_provider.deid.pixels import embedded_text

SOI, SOS, EOI = b"\xff\xd8", b"\xff\xda", b"\xff\xd9"
SCAN = SOS + b"\x00\x08" + b"\x01\x01\x00\x00\x3f\x00" + b"\x12\x34\xff\xfe" + EOI  # entropy data may hold FFFE
SOC, SOT = b"\xff\x4f", b"\xff\x90"
TAIL = ": it may name the patient, and the pixels are never altered"


def _segment(marker: int, payload: bytes) -> bytes:
    """A marker segment: FFxx, a length that counts itself, the payload."""
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def _j2k_segment(marker: int, payload: bytes) -> bytes:
    return marker.to_bytes(2, "big") + (len(payload) + 2).to_bytes(2, "big") + payload


APP0 = _segment(0xE0, b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x00\x00")
DQT = _segment(0xDB, bytes(65))
SIZ = _j2k_segment(0xFF51, bytes(36))
COD = _j2k_segment(0xFF52, bytes(10))


def _pixel_data(*frames: bytes, syntax=JPEGBaseline8Bit) -> tuple[Dataset, DataElement]:
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = syntax
    return dataset, DataElement(0x7FE00010, "OB", encapsulate(list(frames)))


@pytest.mark.parametrize(
    ("headers", "found"),
    [
        (_segment(0xFE, b"Doe^John"), "a JPEG comment (COM)"),
        (_segment(0xE1, b"Exif\x00\x00" + bytes(8)), "a JPEG EXIF/XMP segment (APP1)"),
        (_segment(0xED, b"Photoshop 3.0\x00"), "a JPEG IPTC segment (APP13)"),
        (b"\xff\xff" + _segment(0xFE, b"x"), "a JPEG comment (COM)"),  # fill bytes before a marker
    ],
)
def test_a_jpeg_text_segment_is_named(headers, found):
    dataset, element = _pixel_data(SOI + APP0 + DQT + headers + SCAN)
    assert embedded_text(dataset, element) == found + " in the compressed pixel data" + TAIL


def test_a_jpeg_without_text_segments_carries_none():
    dataset, element = _pixel_data(SOI + APP0 + DQT + SCAN)
    assert embedded_text(dataset, element) is None


def test_only_the_headers_are_read_not_what_follows_the_start_of_scan():
    start_of_scan = _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    dataset, element = _pixel_data(SOI + DQT + start_of_scan + _segment(0xFE, b"after the scan") + EOI)
    assert embedded_text(dataset, element) is None


def test_any_frame_may_carry_the_text():
    clean = SOI + APP0 + SCAN
    dataset, element = _pixel_data(clean, b"not a codestream", clean[:2] + _segment(0xFE, b"x") + clean[2:])
    assert embedded_text(dataset, element).startswith("a JPEG comment (COM) in the compressed pixel data")


def test_a_jpeg_2000_comment_in_the_main_header_is_named():
    dataset, element = _pixel_data(SOC + SIZ + COD + _j2k_segment(0xFF64, b"\x00\x01Doe^John") + SOT,
                                   syntax=JPEG2000Lossless)
    assert embedded_text(dataset, element) == "a JPEG 2000 comment (COM) in the compressed pixel data" + TAIL


def test_a_jpeg_2000_comment_after_the_first_tile_part_is_not_read():
    codestream = SOC + SIZ + COD + _j2k_segment(0xFF90, bytes(8)) + _j2k_segment(0xFF64, b"\x00\x01x")
    dataset, element = _pixel_data(codestream, syntax=JPEG2000Lossless)
    assert embedded_text(dataset, element) is None


def test_native_pixel_data_carries_none():
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    text_like = SOI + _segment(0xFE, b"Doe^John")
    assert embedded_text(dataset, DataElement(0x7FE00010, "OB", text_like)) is None


def test_a_dataset_without_file_meta_carries_none():
    _, element = _pixel_data(SOI + _segment(0xFE, b"Doe^John") + SCAN)
    assert embedded_text(Dataset(), element) is None
