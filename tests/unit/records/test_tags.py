"""records.tags: an instance's tags -> one flat record, read in memory or from a file's raw elements."""

from __future__ import annotations

import io

import pytest
from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage

from copydicom_provider.records.tags import instance_record


def from_file(ds: Dataset) -> Dataset:
    """``ds`` written as a Part 10 file and read back: its elements are raw until converted."""
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, "1.2.826.0.1.3680043.2.1.1"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return dcmread(io.BytesIO(buffer.getvalue()))


def raw(tag: int, vr: str, data: bytes) -> RawDataElement:
    return RawDataElement(Tag(tag), vr, len(data), data, 0, False, True)


@pytest.fixture
def latin1() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "M\u00fcller^J\u00fcrgen^^Dr"
    ds.StudyDate = "20250101"
    ds.ReferringPhysicianName = ""
    ds.WindowCenter = ["40", "400"]
    ds.StudyDescription = None
    ds.add_new(0x60000010, "US", 512)  # OverlayRows, a repeating group
    ds.add_new(0x60020010, "US", 256)
    ds.EncapsulatedDocument = b"%PDF"  # OB
    ds.FloatPixelData = b"\0\0\0\0"  # OF
    return ds


def test_values_as_dicom_writes_them(latin1):
    assert instance_record(latin1) == {
        "SpecificCharacterSet": "ISO_IR 100", "PatientName": "M\u00fcller^J\u00fcrgen^^Dr", "StudyDate": "20250101",
        "ReferringPhysicianName": "", "WindowCenter": "40\\400", "StudyDescription": "",
        "6000,0010": "512", "6002,0010": "256",
    }


def test_a_file_read_back_gives_the_same_record(latin1):
    expected = instance_record(latin1)
    record = instance_record(from_file(latin1))
    for key in ("SOPClassUID", "SOPInstanceUID"):
        record.pop(key)
    assert record == expected


def test_sequence_items_keep_their_own_content_sequence():
    inner = Dataset()
    inner.ValueType = "TEXT"
    inner.TextValue = "nested"
    item = Dataset()
    item.ValueType = "CONTAINER"
    item.ContentSequence = Sequence([inner])
    ds = Dataset()
    ds.ContentSequence = Sequence([item, Dataset()])
    ds.ReferencedStudySequence = Sequence([])
    assert instance_record(ds) == {"ContentItemsOmitted": 2, "ReferencedStudySequence": []}
    assert instance_record(ds, content_tree=True)["ContentSequence"] == [
        {"ValueType": "CONTAINER", "ContentSequence": [{"ValueType": "TEXT", "TextValue": "nested"}]}, {}]


def test_an_empty_content_sequence_counts_zero():
    ds = Dataset()
    ds.ContentSequence = Sequence([])
    assert instance_record(ds) == {"ContentItemsOmitted": 0}


def test_an_unreadable_tag_is_named_and_the_rest_still_read():
    ds = Dataset()
    ds.PatientID = "p1"
    ds[Tag(0x00081115)] = raw(0x00081115, "SQ", b"\xfe\xff\x00\xe0ab")  # an item header cut short
    ds[Tag(0x00280010)] = raw(0x00280010, "US", b"\x01\x02\x03")  # three bytes for a 2-byte US
    record = instance_record(ds)
    assert record["PatientID"] == "p1"
    warnings = record["ParseWarnings"].split(" | ")
    assert [w.split(":")[0] for w in warnings] == ["0008,1115", "0028,0010"]
    assert all(w.endswith("; skipped") and ": unreadable (" in w for w in warnings)
    assert "ReferencedSeriesSequence" not in record and "Rows" not in record


def test_at_most_twenty_unreadable_tags_are_named():
    ds = Dataset()
    for element in range(0x1000, 0x1000 + 25):
        ds[Tag(0x0009, element)] = raw((0x0009 << 16) | element, "US", b"\x01\x02\x03")
    assert len(instance_record(ds)["ParseWarnings"].split(" | ")) == 20
