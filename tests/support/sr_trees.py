"""Small dose SR trees for the flattener's unit tests: a report around given items, a CT event, read back.

Shared by the tests under tests/unit/records/, which each build their trees from these few lines.
"""

from __future__ import annotations

import io

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from copydicom_provider.records.dose import dose_records
from copydicom_provider.testing.dose_sr import XRAY_RADIATION_DOSE_SR, container, to_bytes

UCUM = lambda value: Code(value, "UCUM", value)  # noqa: E731


def report(children, *, sop_class=XRAY_RADIATION_DOSE_SR, root=None, **header) -> Dataset:
    """A minimal dose SR around ``children`` (no file meta: the flattener needs none)."""
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = header.pop("sop_uid", "1.2.3.999")
    ds.StudyInstanceUID = "1.2.3"
    ds.AccessionNumber = "A1"
    ds.StationName = "CT1"
    ds.Manufacturer = "ACME"
    for keyword, value in header.items():
        setattr(ds, keyword, value)
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence(
        [code_ds(root or codes.DCM.XRayRadiationDoseReport)])
    ds.ContinuityOfContent = "SEPARATE"
    ds.ContentSequence = Sequence(children)
    return ds


def code_ds(code: Code) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator = code.value, code.scheme_designator
    item.CodeMeaning = code.meaning
    return item


def ct_event(*children) -> Dataset:
    return container(codes.DCM.CTAcquisition, list(children))


def events_of(ds):
    return [r for r in dose_records(ds) if r["RecordType"] == "irradiation_event"]


def roundtrip(ds: Dataset) -> Dataset:
    return dcmread(io.BytesIO(to_bytes(ds)))
