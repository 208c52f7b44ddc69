"""The instance record (tags of an instance as Orthanc simplifies them): no binary, an SR without its tree."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from copydicom_provider.records.tags import instance_record
from copydicom_provider.testing.dose_sr import make_ct_dose_sr
from tests.support.sr_trees import roundtrip


def test_instance_record_is_orthanc_simplified_without_binary():
    ds = Dataset()
    ds.PatientName = "Doe^Jane"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.Rows, ds.Columns = 2, 2
    ds.PixelSpacing = ["0.5", "0.5"]
    ds.SliceThickness = "1.25"
    ds.ImageComments = "x" * 300  # LT; Orthanc would say null
    ds.add_new(0x7FE00010, "OW", b"\0" * 8)  # PixelData
    ds.add_new(0x00091010, "OB", b"\x01\x02")
    ds.add_new(0x00091011, "UN", b"\x01\x02")
    ds.add_new(0x00090010, "LO", "ACME private")
    ds.add_new(0x00091012, "LO", "private value")
    ds.add_new(0x00280009, "AT", 0x00185050)  # FrameIncrementPointer
    item = Dataset()
    item.CodeValue, item.CodeMeaning = "T-D0050", "Tissue"
    ds.AnatomicRegionSequence = Sequence([item])
    record = instance_record(ds)
    assert record["PatientName"] == "Doe^Jane"
    assert record["ImageType"] == "ORIGINAL\\PRIMARY\\AXIAL"
    assert record["Rows"] == "2" and record["PixelSpacing"] == "0.5\\0.5"
    assert record["SliceThickness"] == "1.25"
    assert record["ImageComments"] == "x" * 300
    assert record["AnatomicRegionSequence"] == [{"CodeValue": "T-D0050", "CodeMeaning": "Tissue"}]
    assert record["0009,0010"] == "ACME private" and record["0009,1012"] == "private value"
    assert record["FrameIncrementPointer"] == "0018,5050"
    assert "PixelData" not in record and "0009,1010" not in record and "0009,1011" not in record
    assert all(isinstance(v, (str, list)) for v in record.values())


def test_instance_record_of_an_sr_leaves_its_content_tree_out():
    ds, truth = make_ct_dose_sr(long_comment=True)
    record = instance_record(roundtrip(ds))
    assert record["SOPInstanceUID"] == truth["sop_instance_uid"]
    assert record["SeriesDescription"] == "Dose Record"
    assert "TransferSyntaxUID" not in record  # file meta is not a tag of the instance
    assert "ContentSequence" not in record and record["ContentItemsOmitted"] == len(ds.ContentSequence)
    assert record["ConceptNameCodeSequence"][0]["CodeValue"] == "113701"
    whole = instance_record(roundtrip(ds), content_tree=True)
    comment = [i for i in whole["ContentSequence"] if i.get("TextValue") == truth["comment"]]
    assert len(comment) == 1 and "ContentItemsOmitted" not in whole
