"""Synthetic CT Radiation Dose SRs (and a plain SR), made with pydicom, with their ground truth.

Why: the tags replication indexes dose reports as flat records, and the tests, the demo and the
benchmarks need reports whose values are known. :func:`make_ct_dose_sr` builds a TID 10011 report
(root ``(113701, DCM) X-Ray Radiation Dose Report``): observer context, procedure reported, scope
of accumulation, "CT Accumulated Dose Data" (TID 10012: number of events, DLP total), then one
"CT Acquisition" container (TID 10013) per irradiation event -- a stationary localizer followed by
one or two spiral acquisitions -- each with its protocol, target region, acquisition type, event
UID, "CT Acquisition Parameters" with one "CT X-Ray Source Parameters" container per tube, and
"CT Dose" (mean CTDIvol, phantom, DLP). It returns the dataset and a ``ground_truth`` dict holding
exactly the values written, so a test can compare what the flattener (or Splunk) reads back.

``quirks=True`` mimics vendor deviations seen in the field: DLP units spelt ``mGycm``, the root
meaning spelt "X-ray Radiation Dose Report", and a GE-style localizer without a "CT Dose"
container. The small item builders (:func:`num_item`, :func:`code_item`, ...) are public so tests
can assemble odd trees by hand.
"""

from __future__ import annotations

import io
import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID, generate_uid

XRAY_RADIATION_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"

# Units pydicom's UCUM dictionary lacks; the others come from codes.UCUM.
UNIT_MGY = Code("mGy", "UCUM", "mGy")
UNIT_MGY_CM = Code("mGy.cm", "UCUM", "mGy.cm")
UNIT_MA = Code("mA", "UCUM", "mA")
UNIT_EVENTS = Code("{events}", "UCUM", "events")
UNIT_SOURCES = Code("{X-Ray sources}", "UCUM", "X-Ray sources")
# Vendor quirk: the DLP unit spelt without the dot (seen on several CT scanners).
UNIT_MGYCM_QUIRK = Code("mGycm", "UCUM", "mGycm")

# Codes pydicom's dictionaries do not carry under a usable keyword.
CT_XRAY_PROCEDURE = Code("77477000", "SCT", "Computed Tomography X-Ray")
HAS_INTENT = Code("363703001", "SCT", "Has Intent")
DIAGNOSTIC_INTENT = Code("261004008", "SCT", "Diagnostic Intent")
PROCEDURE_CONTEXT = Code("408730004", "SCT", "Procedure Context")

NON_ASCII_TEXT = {
    # Latin-1 only: ISO_IR 100 cannot carry anything else.
    "ISO_IR 100": ("Müller^Jürgen", "Thorax Übersicht ÄÖÜ ß é"),
    "ISO_IR 192": ("Müller^Jürgen", "Thorax Übersicht – 胸部 ✓ Ωμέγα"),
}


# --- content item builders -------------------------------------------------------------------


def code_seq(code: Code) -> Sequence:
    """A one-item code sequence (concept name, concept code or units)."""
    item = Dataset()
    item.CodeValue = code.value
    item.CodingSchemeDesignator = code.scheme_designator
    item.CodeMeaning = code.meaning
    return Sequence([item])


def _item(relationship: str | None, value_type: str, concept: Code | None) -> Dataset:
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
    ds = _item(relationship, "CONTAINER", concept)
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
    ds = _item(relationship, "NUM", concept)
    if value is None:
        ds.MeasuredValueSequence = Sequence([])
        ds.NumericValueQualifierCodeSequence = code_seq(
            Code("114006", "DCM", "Measurement failure"))
        return ds
    mv = Dataset()
    mv.NumericValue = value if isinstance(value, str) else _ds_str(value)
    mv.MeasurementUnitsCodeSequence = code_seq(unit)
    ds.MeasuredValueSequence = Sequence([mv])
    return ds


def code_item(concept: Code, value: Code, relationship: str = "CONTAINS",
              children: list[Dataset] | None = None) -> Dataset:
    ds = _item(relationship, "CODE", concept)
    ds.ConceptCodeSequence = code_seq(value)
    if children:
        ds.ContentSequence = Sequence(children)
    return ds


def text_item(concept: Code, value: str, relationship: str = "CONTAINS") -> Dataset:
    ds = _item(relationship, "TEXT", concept)
    ds.TextValue = value
    return ds


def uid_item(concept: Code, value: str, relationship: str = "CONTAINS") -> Dataset:
    ds = _item(relationship, "UIDREF", concept)
    ds.UID = value
    return ds


def datetime_item(concept: Code, value: datetime, relationship: str = "CONTAINS") -> Dataset:
    ds = _item(relationship, "DATETIME", concept)
    ds.DateTime = value.strftime("%Y%m%d%H%M%S")
    return ds


def _ds_str(value: float) -> str:
    """A DS string of at most 16 characters, the way a scanner would write it."""
    return format(value, ".10g")


# --- the dose report -------------------------------------------------------------------------


def make_ct_dose_sr(
    *,
    seed: int = 0,
    patient_id: str = "DOSE0001",
    patient_name: str = "Dose^Test",
    patient_sex: str = "F",
    patient_age: str = "045Y",
    study_uid: str | None = None,
    study_date: date = date(2024, 3, 14),
    study_time: time = time(9, 30, 0),
    accession_number: str = "ACC0001",
    study_description: str = "CT Thorax Abdomen",
    requested_procedure_description: str = "CT TAP with contrast",
    station_name: str = "CTSTATION1",
    manufacturer: str = "ACME Medical",
    model_name: str = "Scanomatic 64",
    device_serial_number: str = "SN-42",
    series_description: str = "Dose Record",
    series_number: int = 997,
    spiral_count: int = 1,
    quirks: bool = False,
    dual_source: bool = False,
    long_comment: bool = False,
    charset: str | None = None,
    enhanced_sr: bool = False,
) -> tuple[Dataset, dict[str, Any]]:
    """A CT Radiation Dose SR (localizer + ``spiral_count`` spirals) and its ground truth.

    ``charset`` ("ISO_IR 100" or "ISO_IR 192") writes non-ASCII patient name and protocol text;
    ``dual_source`` repeats the X-ray source parameters (tubes A and B) in each spiral event;
    ``long_comment`` adds a > 256 character Comment to the report and to the first spiral;
    ``enhanced_sr`` writes the older GE form: Enhanced SR (...88.22) with the same root concept.
    """
    if spiral_count not in (1, 2):
        raise ValueError("spiral_count must be 1 or 2")
    if charset is not None and charset not in NON_ASCII_TEXT:
        raise ValueError(f"charset must be one of {sorted(NON_ASCII_TEXT)}")
    rng = random.Random(seed)
    entropy = [seed, "copydicom-dose-sr", patient_id, accession_number]

    def uid(tag: str) -> str:
        return generate_uid(entropy_srcs=[*map(str, entropy), tag])

    study_uid = study_uid or uid("study")
    series_uid, sop_uid = uid("series"), uid("sop")
    if charset is not None:
        patient_name, protocol_text = NON_ASCII_TEXT[charset]
    else:
        protocol_text = None

    start = datetime.combine(study_date, study_time)
    events = _plan_events(rng, spiral_count, quirks, dual_source, protocol_text, uid)
    dlp_unit = UNIT_MGYCM_QUIRK if quirks else UNIT_MGY_CM
    dlp_total = float(sum((Decimal(_ds_str(e["dlp"])) for e in events if e["dlp"] is not None),
                          Decimal(0)))
    comment = _long_text(rng) if long_comment else None

    root_children = [
        code_item(codes.DCM.ProcedureReported, CT_XRAY_PROCEDURE, "HAS CONCEPT MOD",
                  [code_item(HAS_INTENT, DIAGNOSTIC_INTENT, "HAS CONCEPT MOD")]),
        code_item(codes.DCM.ObserverType, codes.DCM.Device, "HAS OBS CONTEXT"),
        uid_item(codes.DCM.DeviceObserverUID, uid("device"), "HAS OBS CONTEXT"),
        text_item(codes.DCM.DeviceObserverName, station_name, "HAS OBS CONTEXT"),
        text_item(codes.DCM.DeviceObserverManufacturer, manufacturer, "HAS OBS CONTEXT"),
        text_item(codes.DCM.DeviceObserverModelName, model_name, "HAS OBS CONTEXT"),
        text_item(codes.DCM.DeviceObserverSerialNumber, device_serial_number, "HAS OBS CONTEXT"),
        datetime_item(codes.DCM.StartOfXRayIrradiation, start, "HAS OBS CONTEXT"),
        datetime_item(codes.DCM.EndOfXRayIrradiation, start + timedelta(minutes=6),
                      "HAS OBS CONTEXT"),
        code_item(codes.DCM.ScopeOfAccumulation, codes.DCM.Study, "HAS OBS CONTEXT",
                  [uid_item(codes.DCM.StudyInstanceUID, study_uid, "HAS PROPERTIES")]),
        container(codes.DCM.CTAccumulatedDoseData, [
            num_item(codes.DCM.TotalNumberOfIrradiationEvents, str(len(events)), UNIT_EVENTS),
            num_item(codes.DCM.CTDoseLengthProductTotal, dlp_total, dlp_unit),
        ], template="10012"),
        *(_event_container(e, dlp_unit) for e in events),
    ]
    if comment is not None:
        root_children.append(text_item(codes.DCM.Comment, comment))
    root_children.append(code_item(codes.DCM.SourceOfDoseInformation,
                                   codes.DCM.AutomatedDataCollection))
    root_concept = codes.DCM.XRayRadiationDoseReport
    if quirks:
        root_concept = Code(root_concept.value, "DCM", "X-ray Radiation Dose Report")
    root = container(root_concept, root_children, relationship=None, template="10011")

    ds = _sr_document(
        root, sop_class=ENHANCED_SR if enhanced_sr else XRAY_RADIATION_DOSE_SR,
        sop_uid=sop_uid, series_uid=series_uid, study_uid=study_uid, charset=charset,
        patient_id=patient_id, patient_name=patient_name, patient_sex=patient_sex,
        patient_age=patient_age, study_date=study_date, study_time=study_time,
        accession_number=accession_number, study_description=study_description,
        series_description=series_description, series_number=series_number,
        manufacturer=manufacturer, station_name=station_name,
    )
    ds.ManufacturerModelName = model_name
    ds.DeviceSerialNumber = device_serial_number
    ds.SoftwareVersions = "1.0"
    ds.RequestedProcedureDescription = requested_procedure_description
    if enhanced_sr:
        del ds.ContentTemplateSequence  # older GE reports carry no template identification

    truth: dict[str, Any] = {
        "sop_instance_uid": sop_uid,
        "series_instance_uid": series_uid,
        "study_instance_uid": study_uid,
        "sop_class_uid": ds.SOPClassUID,
        "patient_id": patient_id,
        "patient_name": patient_name,
        "accession_number": accession_number,
        "station_name": station_name,
        "manufacturer": manufacturer,
        "series_description": series_description,
        "study_date": study_date.isoformat(),
        "dlp_total": dlp_total,
        "dlp_unit": "mGy.cm",
        "number_of_events": len(events),
        "comment": comment,
        "events": [_event_truth(e) for e in events],
    }
    return ds, truth


def _plan_events(rng: random.Random, spiral_count: int, quirks: bool, dual_source: bool,
                 protocol_text: str | None, uid) -> list[dict[str, Any]]:
    """Per-event values, rounded to what the DS strings will hold."""
    regions = [codes.SCT.Chest, codes.SCT.Abdomen]
    events: list[dict[str, Any]] = [{
        "protocol": "Topogram",
        "acquisition_type": codes.DCM.StationaryAcquisitionCT,
        "target_region": codes.SCT.ChestAbdomenAndPelvis,
        "uid": uid("event-0"),
        "ctdivol": None if quirks else round(rng.uniform(0.05, 0.3), 2),
        "dlp": None if quirks else round(rng.uniform(1.0, 8.0), 2),
        "has_dose": not quirks,  # GE-style scout: no CT Dose container at all
        "sources": [("A", 120.0, round(rng.uniform(20, 60), 2))],
        "pitch": None,
        "comment": None,
    }]
    for i in range(spiral_count):
        kvp = rng.choice([100.0, 120.0])
        sources = [("A", kvp, round(rng.uniform(150, 400), 2))]
        if dual_source:
            sources.append(("B", 140.0 if kvp == 100.0 else 80.0, round(rng.uniform(100, 300), 2)))
        name = ("Thorax Routine", "Abdomen Venous")[i]
        if protocol_text is not None and i == 0:
            name = protocol_text
        events.append({
            "protocol": name,
            "acquisition_type": codes.SCT.SpiralAcquisition,
            "target_region": regions[i],
            "uid": uid(f"event-{i + 1}"),
            "ctdivol": round(rng.uniform(5.0, 20.0), 2),
            "dlp": round(rng.uniform(150.0, 900.0), 2),
            "has_dose": True,
            "sources": sources,
            "pitch": rng.choice([0.8, 1.0, 1.375]),
            "scan_length": round(rng.uniform(250.0, 500.0), 1),
            "comment": None,
        })
    return events


def _event_container(e: dict[str, Any], dlp_unit: Code) -> Dataset:
    spiral = e["acquisition_type"] == codes.SCT.SpiralAcquisition
    params = [
        num_item(codes.DCM.ExposureTime, 6.5 if spiral else 2.1, codes.UCUM.Second),
        num_item(codes.DCM.ScanningLength, e.get("scan_length", 480.0), codes.UCUM.Millimeter),
        num_item(codes.DCM.NominalSingleCollimationWidth, 0.6, codes.UCUM.Millimeter),
        num_item(codes.DCM.NominalTotalCollimationWidth, 38.4, codes.UCUM.Millimeter),
    ]
    if e["pitch"] is not None:
        params.append(num_item(codes.DCM.PitchFactor, e["pitch"], codes.UCUM.Ratio))
    params.append(num_item(codes.DCM.NumberOfXRaySources, str(len(e["sources"])), UNIT_SOURCES))
    for ident, kvp, ma in e["sources"]:
        source = [
            text_item(codes.DCM.IdentificationOfTheXRaySource, ident),
            num_item(codes.DCM.KVP, kvp, codes.UCUM.Kilovolt),
            num_item(codes.DCM.MaximumXRayTubeCurrent, ma + 50, UNIT_MA),
            num_item(codes.DCM.XRayTubeCurrent, ma, UNIT_MA),
        ]
        if spiral:
            source.append(num_item(codes.DCM.ExposureTimePerRotation, 0.5, codes.UCUM.Second))
        params.append(container(codes.DCM.CTXRaySourceParameters, source))
    children = [
        text_item(codes.DCM.AcquisitionProtocol, e["protocol"]),
        code_item(codes.DCM.TargetRegion, e["target_region"]),
        code_item(codes.DCM.CTAcquisitionType, e["acquisition_type"]),
        code_item(PROCEDURE_CONTEXT, CT_XRAY_PROCEDURE),
        uid_item(codes.DCM.IrradiationEventUID, e["uid"]),
        container(codes.DCM.CTAcquisitionParameters, params),
    ]
    if e["has_dose"]:
        children.append(container(codes.DCM.CTDose, [
            num_item(codes.DCM.MeanCtdivol, e["ctdivol"], UNIT_MGY),
            code_item(codes.DCM.CtdiwPhantomType, codes.DCM.IECBodyDosimetryPhantom),
            num_item(codes.DCM.DLP, e["dlp"], dlp_unit),
        ]))
    return container(codes.DCM.CTAcquisition, children, template="10013")


def _event_truth(e: dict[str, Any]) -> dict[str, Any]:
    kvps = [s[1] for s in e["sources"]]
    mas = [s[2] for s in e["sources"]]
    one = len(e["sources"]) == 1
    return {
        "irradiation_event_uid": e["uid"],
        "acquisition_protocol": e["protocol"],
        "acquisition_type": e["acquisition_type"].meaning,
        "acquisition_type_code": f"{e['acquisition_type'].scheme_designator}:"
                                 f"{e['acquisition_type'].value}",
        "target_region": e["target_region"].meaning,
        "ctdivol": e["ctdivol"],
        "dlp": e["dlp"],
        "phantom_type": codes.DCM.IECBodyDosimetryPhantom.meaning if e["has_dose"] else None,
        "pitch_factor": e["pitch"],
        "kvp": kvps[0] if one else kvps,
        "tube_current": mas[0] if one else mas,
        "xray_source_ids": [s[0] for s in e["sources"]],
    }


def _long_text(rng: random.Random) -> str:
    words = ["dose", "modulation", "reference", "protocol", "patient", "size", "adjusted",
             "contrast", "phase", "venous", "arterial", "reconstruction"]
    text = "Technologist note: " + " ".join(rng.choice(words) for _ in range(60))
    assert len(text) > 256
    return text


# --- the document around a content tree ------------------------------------------------------


def _sr_document(root: Dataset, *, sop_class: str, sop_uid: str, series_uid: str,
                 study_uid: str, charset: str | None, patient_id: str, patient_name: str,
                 patient_sex: str, patient_age: str | None, study_date: date, study_time: time,
                 accession_number: str, study_description: str, series_description: str,
                 series_number: int, manufacturer: str, station_name: str) -> Dataset:
    """Wrap a root content item into an SR document with file meta (Explicit VR Little Endian)."""
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
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


def make_plain_sr(*, seed: int = 0, patient_id: str = "TEXT0001", text: str = "No findings.",
                  study_uid: str | None = None,
                  series_description: str = "Report") -> Dataset:
    """A Basic Text SR (root "Report" with one finding): the negative case, no dose records."""
    entropy = [str(seed), "copydicom-plain-sr", patient_id]
    uid = lambda tag: generate_uid(entropy_srcs=[*entropy, tag])  # noqa: E731
    root = container(Code("11528-7", "LN", "Radiology Report"),
                     [text_item(Code("121071", "DCM", "Finding"), text)], relationship=None)
    return _sr_document(
        root, sop_class=BASIC_TEXT_SR, sop_uid=uid("sop"), series_uid=uid("series"),
        study_uid=study_uid or uid("study"), charset=None, patient_id=patient_id,
        patient_name="Text^Report", patient_sex="M", patient_age="060Y",
        study_date=date(2024, 3, 14), study_time=time(10, 0), accession_number="ACC-TEXT",
        study_description="Report", series_description=series_description, series_number=1,
        manufacturer="ACME Medical", station_name="RIS",
    )


def to_bytes(ds: Dataset) -> bytes:
    """The dataset as a DICOM Part 10 file (preamble, file meta, Explicit VR Little Endian)."""
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
