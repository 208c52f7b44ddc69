"""Text hidden inside compressed pixel data: JPEG comments and metadata segments, JPEG 2000 comments.

Why: the profile never alters pixels (the copy's pixel data is the original's, byte for byte), yet
a compressed frame may carry text beside the image: a JPEG COM segment with the patient's name, an
EXIF or XMP block (APP1) with dates and the device, IPTC (APP13), a JPEG 2000 COM marker. Those are
found by reading the codestream headers only (never the image), and the instance is withheld,
naming what was found.
"""

from __future__ import annotations

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.encaps import generate_fragments

#: JPEG segments that hold text: COM, APP1 (EXIF, XMP), APP13 (IPTC, Photoshop).
JPEG_TEXT = {0xFE: "a JPEG comment (COM)", 0xE1: "a JPEG EXIF/XMP segment (APP1)", 0xED: "a JPEG IPTC segment (APP13)"}
JPEG_2000_COMMENT = 0xFF64


def embedded_text(dataset: Dataset, element: DataElement) -> str | None:
    """What text the compressed pixel data carries beside the image, or None."""
    syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None or not syntax.is_encapsulated or not isinstance(element.value, (bytes, bytearray)):
        return None
    for fragment in generate_fragments(element.value):
        if fragment[:2] == b"\xff\xd8":
            found = _jpeg(fragment)
        elif fragment[:4] == b"\xff\x4f\xff\x51":
            found = _jpeg_2000(fragment)
        else:
            continue
        if found:
            return f"{found} in the compressed pixel data: it may name the patient, and the pixels are never altered"
    return None


def _jpeg(data: bytes) -> str | None:
    """The first text segment of a JPEG stream's headers (up to the start of scan)."""
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0xDA, 0xD9):  # start of scan, end of image: the headers are over
            return None
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        if marker in JPEG_TEXT:
            return JPEG_TEXT[marker]
        at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    return None


def _jpeg_2000(data: bytes) -> str | None:
    """A COM marker in a JPEG 2000 codestream's main header (up to the first tile part)."""
    at = 2
    while at + 4 <= len(data):
        marker = int.from_bytes(data[at:at + 2], "big")
        if marker == 0xFF90:  # start of tile part
            return None
        if marker == JPEG_2000_COMMENT:
            return "a JPEG 2000 comment (COM)"
        at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    return None
