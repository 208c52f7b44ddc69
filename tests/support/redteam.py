"""The red team's building and judging: vendor-style CT images, exact element bytes, the three auditors' findings.

Shared by the red team's unit tests (tests/unit/deid/test_redteam*.py) and its pass through real Orthanc
(tests/integration/deid/test_redteam.py).
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.tag import Tag
from pydicom.uid import JPEGBaseline8Bit

from copydicom_provider.deid import AnonymizationProfile
from tests.support import iod_validator
from tests.support.deid_corpus_base import (
    KOWALCZYK,
    Patient,
    base,
    gradient,
    image_plane,
    set_ct_pixels,
    uid,
)
from tests.support.outside_audit import second_opinion
from tests.support.phi_audit import audit, original_identifiers

PROFILE = AnonymizationProfile(key="redteam-key-51e7")
CT = "1.2.840.10008.5.1.4.1.1.2"
MG = "1.2.840.10008.5.1.4.1.1.1.2"
VL_PHOTO = "1.2.840.10008.5.1.4.1.1.77.1.4"
VIDEO_PHOTO = "1.2.840.10008.5.1.4.1.1.77.1.4.1"
ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"
PDF = "1.2.840.10008.5.1.4.1.1.104.1"
#: A hyphenated family name: people (and free text) use either half alone.
HARALDSEN = Patient("MRN-30011", "Lindqvist-Haraldsen^Astrid", birth_name="", other_ids=())

needs_dciodvfy = pytest.mark.skipif(not iod_validator.available(), reason="dciodvfy (dicom3tools) is not installed")


def ct_image(patient: Patient = KOWALCZYK, key: str = "redteam-ct") -> Dataset:
    """A CT image with the corpus's planted patient, study, physicians, equipment and institution."""
    ds = base(CT, "CT", patient, key=key, marker=1)
    image_plane(ds, uid(key, "frame-of-reference"))
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.RescaleIntercept, ds.RescaleSlope, ds.KVP, ds.AcquisitionNumber = -1024, 1, 120, 1
    ds.PatientOrientation = ""
    ds.ContentDate, ds.ContentTime = "20240312", "094500"
    set_ct_pixels(ds, gradient(16, 16))
    return ds


def to_bytes(ds: Dataset, **encoding: bool) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True, **encoding)
    return buffer.getvalue()


def read(data: bytes) -> Dataset:
    return pydicom.dcmread(io.BytesIO(data))


def raw(ds: Dataset, keyword: str, vr: str, value: bytes) -> None:
    """An element with exactly these value bytes, as a vendor wrote them (pydicom would refuse to set them)."""
    tag = Tag(keyword)
    value += b" " * (len(value) % 2)
    ds._dict[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)


def findings(original: bytes, copy: bytes, *, kept: Iterable[str] = (), validate: bool = True) -> list[str]:
    """What the three auditors find in ``copy``; ``kept``: attributes the caller kept, whose own value is no finding."""
    before, after = read(original), read(copy)
    found = [f"walk: {f}" for f in audit(after, original_identifiers(before))]
    found += [f"dicognito: {f}" for f in second_opinion(before, after)]
    if validate and iod_validator.available():
        found += [f"dciodvfy: {e}" for e in iod_validator.new_errors(original, copy)]
    own = [f"original {keyword} value" for keyword in kept]
    return [f for f in found if not any(marker in f for marker in own)]


def deidentified(ds: Dataset, profile: AnonymizationProfile = PROFILE, **encoding: bool) -> tuple[bytes, bytes]:
    original = to_bytes(ds, **encoding)
    return original, profile.deidentify(original)


def in_kept_text(keyword: str, text: str, patient: Patient = KOWALCZYK, **attributes: str) -> list[str]:
    """The auditors' findings when ``text`` is typed into ``keyword`` and the caller keeps it (``keep``)."""
    ds = ct_image(patient)
    for name, value in {**attributes, keyword: text}.items():
        setattr(ds, name, value)
    original, copy = deidentified(ds, AnonymizationProfile(key=PROFILE.key, keep=(keyword,)))
    return findings(original, copy, kept=(keyword,), validate=False)


def with_element_bytes(ds: Dataset, keyword: str, vr: str, value: bytes, placeholder: object) -> bytes:
    """``ds`` as a file whose ``keyword`` element carries exactly ``value`` (explicit VR little endian, short VR)."""
    tag = Tag(keyword)
    ds[tag] = pydicom.DataElement(tag, vr, placeholder)
    data = to_bytes(ds)
    head = tag.group.to_bytes(2, "little") + tag.element.to_bytes(2, "little") + vr.encode()
    at = data.index(head, 132)
    length = int.from_bytes(data[at + 6:at + 8], "little")
    return data[:at] + head + len(value).to_bytes(2, "little") + value + data[at + 8 + length:]


def jpeg_ct(comment: bytes | None = None) -> Dataset:
    """A CT with one fake baseline JPEG fragment (SOI, optional COM, a DQT stub, EOI)."""
    ds = ct_image(key="redteam-jpeg")
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    com = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment if comment else b""
    ds.PixelData = encapsulate([b"\xff\xd8" + com + b"\xff\xdb\x00\x43" + bytes(65) + b"\xff\xd9"])
    ds["PixelData"].VR, ds["PixelData"].is_undefined_length = "OB", True
    ds.LossyImageCompression = "01"
    return ds
