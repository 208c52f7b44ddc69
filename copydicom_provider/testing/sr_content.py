"""The pieces every synthetic structured report is made of: coded content items and the SR document around them.

Why apart: the CT dose reports (:mod:`.dose_sr`), the fluoroscopy ones (:mod:`.dose_sr_projection`) and tests that
assemble odd trees by hand all build from these, so a content item is written one way everywhere.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time
from decimal import Decimal

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.sr.coding import Code
from pydicom.tag import Tag
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian

from copydicom_provider.records.dose_fields import json_number

# Units pydicom's UCUM dictionary lacks; the others come from codes.UCUM.
UNIT_MGY = Code("mGy", "UCUM", "mGy")
UNIT_MGY_CM = Code("mGy.cm", "UCUM", "mGy.cm")
UNIT_MA = Code("mA", "UCUM", "mA")
UNIT_EVENTS = Code("{events}", "UCUM", "events")
UNIT_SOURCES = Code("{X-Ray sources}", "UCUM", "X-Ray sources")
# Vendor quirk: the DLP unit spelt without the dot (seen on several CT scanners).
UNIT_MGYCM_QUIRK = Code("mGycm", "UCUM", "mGycm")


# --- content item builders -------------------------------------------------------------------


def code_seq(code: Code) -> Sequence:
    """A one-item code sequence (concept name, concept code or units)."""
    item = Dataset()
    item.CodeValue = code.value
    item.CodingSchemeDesignator = code.scheme_designator
    item.CodeMeaning = code.meaning
    return Sequence([item])


def content_item(relationship: str | None, value_type: str, concept: Code | None) -> Dataset:
    ds = Dataset()
    if relationship is not None:
        ds.RelationshipType = relationship
    ds.ValueType = value_type
    if concept is not None:
        ds.ConceptNameCodeSequence = code_seq(concept)
    return ds


def container(concept: Code, children: list[Dataset], relationship: str | None = "CONTAINS",
              template: str | None = None) -> Dataset:
    """A CONTAINER content item holding ``children`` (``relationship=None`` for the root)."""
    ds = content_item(relationship, "CONTAINER", concept)
    ds.ContinuityOfContent = "SEPARATE"
    if template is not None:
        tpl = Dataset()
        tpl.MappingResource = "DCMR"
        tpl.TemplateIdentifier = template
        ds.ContentTemplateSequence = Sequence([tpl])
    if children:
        ds.ContentSequence = Sequence(children)
    return ds


def num_item(concept: Code, value: float | str | None, unit: Code,
             relationship: str = "CONTAINS") -> Dataset:
    """A NUM item; ``value=None`` writes the "no value" form (empty measured value + qualifier)."""
    ds = content_item(relationship, "NUM", concept)
    if value is None:
        ds.MeasuredValueSequence = Sequence([])
        ds.NumericValueQualifierCodeSequence = code_seq(
            Code("114006", "DCM", "Measurement failure"))
        return ds
    mv = Dataset()
    mv.NumericValue = value if isinstance(value, str) else ds_str(value)
    mv.MeasurementUnitsCodeSequence = code_seq(unit)
    ds.MeasuredValueSequence = Sequence([mv])
    return ds


def code_item(concept: Code, value: Code, relationship: str = "CONTAINS",
              children: list[Dataset] | None = None) -> Dataset:
    ds = content_item(relationship, "CODE", concept)
    ds.ConceptCodeSequence = code_seq(value)
    if children:
        ds.ContentSequence = Sequence(children)
    return ds


def text_item(concept: Code, value: str, relationship: str = "CONTAINS") -> Dataset:
    ds = content_item(relationship, "TEXT", concept)
    ds.TextValue = value
    return ds


def uid_item(concept: Code, value: str, relationship: str = "CONTAINS") -> Dataset:
    ds = content_item(relationship, "UIDREF", concept)
    ds.UID = value
    return ds


def datetime_item(concept: Code, value: datetime, relationship: str = "CONTAINS") -> Dataset:
    ds = content_item(relationship, "DATETIME", concept)
    ds.DateTime = value.strftime("%Y%m%d%H%M%S")
    return ds


def ds_str(value: float) -> str:
    """A DS string of at most 16 characters, the way a scanner would write it."""
    return format(value, ".10g")


def raw_value(item: Dataset, keyword: str, vr: str, text: str) -> None:
    """Write ``text`` as the element's bytes unchecked: how a scanner writes ``10.50/ 15.00`` in a DS."""
    tag = Tag(keyword)
    data = text.encode("ascii")
    if len(data) % 2:
        data += b" "
    item[tag] = RawDataElement(tag, vr, len(data), data, 0, False, True)


def decimal_mean(values: list[float]) -> float:
    """The mean the flattener computes (exact decimal arithmetic on the DS strings)."""
    numbers = [Decimal(ds_str(v)) for v in values]
    return json_number(sum(numbers, Decimal(0)) / len(numbers))


# --- the document around a content tree ------------------------------------------------------


def sr_document(root: Dataset, *, sop_class: str, sop_uid: str, series_uid: str,
                 study_uid: str, charset: str | None, patient_id: str, patient_name: str,
                 patient_sex: str, patient_age: str | None, study_date: date, study_time: time,
                 accession_number: str, study_description: str, series_description: str,
                 series_number: int, manufacturer: str, station_name: str) -> Dataset:
    """Wrap a root content item into an SR document with file meta (Explicit VR Little Endian)."""
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    if charset is not None:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    ds.StudyDate = ds.ContentDate = study_date.strftime("%Y%m%d")
    ds.StudyTime = ds.ContentTime = study_time.strftime("%H%M%S")
    ds.AccessionNumber = accession_number
    ds.Modality = "SR"
    ds.Manufacturer = manufacturer
    ds.ReferringPhysicianName = ""
    ds.StationName = station_name
    ds.StudyDescription = study_description
    ds.SeriesDescription = series_description
    ds.PatientName, ds.PatientID = patient_name, patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = patient_sex
    if patient_age is not None:
        ds.PatientAge = patient_age
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = 1
    ds.ReferencedPerformedProcedureStepSequence = Sequence([])
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.PerformedProcedureCodeSequence = Sequence([])
    for keyword in ("ValueType", "ConceptNameCodeSequence", "ContinuityOfContent",
                    "ContentTemplateSequence", "ContentSequence"):
        if keyword in root:
            setattr(ds, keyword, root[keyword].value)
    return ds


def to_bytes(ds: Dataset) -> bytes:
    """The dataset as a DICOM Part 10 file (preamble, file meta, Explicit VR Little Endian)."""
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
