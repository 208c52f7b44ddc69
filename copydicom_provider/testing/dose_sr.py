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
container. ``odd_items`` adds items a reader must survive (CODE items without codes, text in a NUM,
an empty measured value, a multi-valued NUM, an unreadable DATETIME), ``missing_source_value`` a
dual-source event whose tube B reports no kVp; :func:`cumulative_ct_reports` makes the growing
versions of one report and :func:`in_another_study` files the same SR in a second study. Non-ASCII
text comes with ``charset``. Fluoroscopy reports are in :mod:`.dose_sr_projection`. The small item
builders (:func:`num_item`, :func:`code_item`, :func:`raw_value`, ...) are public so tests can
assemble odd trees by hand.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from copy import deepcopy
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from copydicom_provider.testing.dose_sr_quirks import ODD_ITEMS as ODD_ITEMS  # the names make_ct_dose_sr takes
from copydicom_provider.testing.dose_sr_quirks import add_odd_items
from copydicom_provider.testing.sr_content import (
    UNIT_EVENTS,
    UNIT_MA,
    UNIT_MGY,
    UNIT_MGY_CM,
    UNIT_MGYCM_QUIRK,
    UNIT_SOURCES,
    code_item,
    container,
    datetime_item,
    decimal_mean,
    ds_str,
    num_item,
    sr_document,
    text_item,
    uid_item,
)
from copydicom_provider.testing.sr_content import to_bytes as to_bytes  # what every caller writes reports with

XRAY_RADIATION_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"

# Codes pydicom's dictionaries do not carry under a usable keyword.
CT_XRAY_PROCEDURE = Code("77477000", "SCT", "Computed Tomography X-Ray")
HAS_INTENT = Code("363703001", "SCT", "Has Intent")
DIAGNOSTIC_INTENT = Code("261004008", "SCT", "Diagnostic Intent")
PROCEDURE_CONTEXT = Code("408730004", "SCT", "Procedure Context")

NON_ASCII_TEXT = {
    # Latin-1 only: ISO_IR 100 cannot carry anything else.
    "ISO_IR 100": ("Müller^Jürgen", "Thorax Übersicht ÄÖÜ ß é"),
    "ISO_IR 192": ("Müller^Jürgen", "Thorax Übersicht \u2013 胸部 ✓ Ωμέγα"),
}


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
    missing_source_value: bool = False,
    odd_items: bool | Iterable[str] = False,
    report_number: int = 1,
    dose_scale: float = 1.0,
    size_estimates: bool = False,
) -> tuple[Dataset, dict[str, Any]]:
    """A CT Radiation Dose SR (localizer + ``spiral_count`` spirals) and its ground truth.

    ``dose_scale`` multiplies the spirals' CTDIvol (5-20 mGy) and DLP: an exam above a notification value.
    ``size_estimates`` adds each spiral's water-equivalent diameter (200-380 mm) and its SSDE (AAPM TG 220:
    CTDIvol (32 cm phantom) times TG 204's body conversion factor at that diameter) to its CT Dose.

    ``missing_source_value`` (with ``dual_source``): tube B's kVp item has no value (an empty
    measured value with a "Measurement failure" qualifier), so only tube A has a ``KVP``.
    ``odd_items`` (True for all, or some names of :data:`ODD_ITEMS`) adds items a reader must
    survive, each named in ``truth["warnings"]``: a CODE item without ConceptCodeSequence
    (``no-concept-code``) and one with an empty one (``empty-concept-code``), text
    (``10.50/ 15.00``) in a NUM (``text-in-num``), an unreadable DATETIME for End of X-Ray
    Irradiation (``bad-datetime``), an Exposed Range NUM with an empty measured value sequence (no
    value, no warning: ``empty-measured-value``), and a private NUM with 5 values
    (``multi-valued-num``).
    ``report_number`` > 1 makes a later version of the same report (new SOP Instance UID, same
    event UIDs and values): with ``spiral_count`` growing it is a scanner's cumulative report.

    ``charset`` ("ISO_IR 100" or "ISO_IR 192") writes non-ASCII patient name and protocol text;
    ``dual_source`` repeats the X-ray source parameters (tubes A and B) in each spiral event;
    ``long_comment`` adds a > 256 character Comment to the report and to the first spiral;
    ``enhanced_sr`` writes the older GE form: Enhanced SR (...88.22) with the same root concept.
    """
    if not 1 <= spiral_count <= 50:
        raise ValueError("spiral_count must be 1 to 50")
    if missing_source_value and not dual_source:
        raise ValueError("missing_source_value needs dual_source")
    if report_number < 1:
        raise ValueError("report_number must be at least 1")
    if charset is not None and charset not in NON_ASCII_TEXT:
        raise ValueError(f"charset must be one of {sorted(NON_ASCII_TEXT)}")
    rng = random.Random(seed)
    entropy = [seed, "copydicom-dose-sr", patient_id, accession_number]

    def uid(tag: str) -> str:
        return generate_uid(entropy_srcs=[*map(str, entropy), tag])

    study_uid = study_uid or uid("study")
    series_uid = uid("series")
    sop_uid = uid("sop") if report_number == 1 else uid(f"sop-{report_number}")
    if charset is not None:
        patient_name, protocol_text = NON_ASCII_TEXT[charset]
    else:
        protocol_text = None

    start = datetime.combine(study_date, study_time)
    events = _plan_events(rng, spiral_count, quirks, dual_source, protocol_text, uid, dose_scale)
    if size_estimates:
        _add_size_estimates(events, random.Random(f"{seed}-size"))
    if missing_source_value:
        for event in events[1:]:
            event["missing_kvp"] = "B"
    dlp_unit = UNIT_MGYCM_QUIRK if quirks else UNIT_MGY_CM
    dlp_total = float(sum((Decimal(ds_str(e["dlp"])) for e in events if e["dlp"] is not None),
                          Decimal(0)))
    comment = _long_text(rng) if long_comment else None
    end = start + timedelta(minutes=6)

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
        datetime_item(codes.DCM.EndOfXRayIrradiation, end, "HAS OBS CONTEXT"),
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
    warnings: dict[str, list[str]] = {"report": [], "event": []}
    odd = set(ODD_ITEMS if odd_items is True else odd_items or ())
    if odd - set(ODD_ITEMS):
        raise ValueError(f"odd_items must be among {ODD_ITEMS}, not {sorted(odd - set(ODD_ITEMS))}")
    if odd:
        warnings = add_odd_items(root_children, end, odd)
    root_concept = codes.DCM.XRayRadiationDoseReport
    if quirks:
        root_concept = Code(root_concept.value, "DCM", "X-ray Radiation Dose Report")
    root = container(root_concept, root_children, relationship=None, template="10011")

    ds = sr_document(
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
        "end_of_irradiation": None if "bad-datetime" in odd else end.isoformat(),
        "report_number": report_number,
        "events": [_event_truth(e) for e in events],
        # problem texts the flattener names in ParseWarnings: of the report, of the first spiral
        "warnings": warnings,
    }
    return ds, truth


def cumulative_ct_reports(versions: int = 3, **options: Any) -> list[tuple[Dataset, dict[str, Any]]]:
    """A scanner's growing report: version k holds the localizer and k spirals, same event UIDs."""
    return [make_ct_dose_sr(spiral_count=k, report_number=k, **options) for k in range(1, versions + 1)]


def in_another_study(ds: Dataset, *, accession_number: str = "ACC-OTHER") -> Dataset:
    """The same SR (same SOP Instance UID and content) filed in a second study of the patient."""
    copy = deepcopy(ds)
    copy.StudyInstanceUID = generate_uid(entropy_srcs=[ds.StudyInstanceUID, "other-study"])
    copy.SeriesInstanceUID = generate_uid(entropy_srcs=[ds.SeriesInstanceUID, "other-study"])
    copy.AccessionNumber = accession_number
    return copy


_PROTOCOLS = ("Thorax Routine", "Abdomen Venous", "Pelvis Delayed")


def _plan_events(rng: random.Random, spiral_count: int, quirks: bool, dual_source: bool,
                 protocol_text: str | None, uid, dose_scale: float = 1.0) -> list[dict[str, Any]]:
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
        name = _PROTOCOLS[i] if i < len(_PROTOCOLS) else f"Series {i + 1}"
        if protocol_text is not None and i == 0:
            name = protocol_text
        events.append({
            "protocol": name,
            "acquisition_type": codes.SCT.SpiralAcquisition,
            "target_region": regions[i % 2],
            "uid": uid(f"event-{i + 1}"),
            "ctdivol": round(rng.uniform(5.0, 20.0) * dose_scale, 2),
            "dlp": round(rng.uniform(150.0, 900.0) * dose_scale, 2),
            "has_dose": True,
            "sources": sources,
            "pitch": rng.choice([0.8, 1.0, 1.375]),
            "scan_length": round(rng.uniform(250.0, 500.0), 1),
            "comment": None,
        })
    return events


def _add_size_estimates(events: list[dict[str, Any]], rng: random.Random) -> None:
    """Each spiral's WED and SSDE: f = 3.704369 exp(-0.03671937 D) (AAPM TG 204, 32 cm phantom, D in cm)."""
    for e in events:
        if e["has_dose"] and e["acquisition_type"] == codes.SCT.SpiralAcquisition:
            e["wed_mm"] = round(rng.uniform(200.0, 380.0), 1)
            e["ssde"] = round(e["ctdivol"] * 3.704369 * math.exp(-0.03671937 * e["wed_mm"] / 10), 2)


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
            num_item(codes.DCM.KVP, None if e.get("missing_kvp") == ident else kvp,
                     codes.UCUM.Kilovolt),
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
            *([num_item(codes.DCM.SizeSpecificDoseEstimate, e["ssde"], UNIT_MGY),
               num_item(codes.DCM.WaterEquivalentDiameter, e["wed_mm"], codes.UCUM.Millimeter)]
              if "ssde" in e else []),
        ]))
    return container(codes.DCM.CTAcquisition, children, template="10013")


def _event_truth(e: dict[str, Any]) -> dict[str, Any]:
    """Per-tube values by tube ID; ``kvp``/``tube_current`` are what the flattener's scalar holds."""
    kvp_by_source = {s[0]: s[1] for s in e["sources"] if e.get("missing_kvp") != s[0]}
    ma_by_source = {s[0]: s[2] for s in e["sources"]}
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
        "ssde": e.get("ssde"),
        "wed_mm": e.get("wed_mm"),
        "pitch_factor": e["pitch"],
        "kvp": decimal_mean(list(kvp_by_source.values())),
        "kvp_by_source": kvp_by_source,
        "tube_current": decimal_mean(list(ma_by_source.values())),
        "tube_current_by_source": ma_by_source,
        "xray_source_ids": [s[0] for s in e["sources"]],
    }


def _long_text(rng: random.Random) -> str:
    words = ["dose", "modulation", "reference", "protocol", "patient", "size", "adjusted",
             "contrast", "phase", "venous", "arterial", "reconstruction"]
    text = "Technologist note: " + " ".join(rng.choice(words) for _ in range(60))
    assert len(text) > 256
    return text


def make_plain_sr(*, seed: int = 0, patient_id: str = "TEXT0001", text: str = "No findings.",
                  study_uid: str | None = None,
                  series_description: str = "Report") -> Dataset:
    """A Basic Text SR (root "Report" with one finding): the negative case, no dose records."""
    entropy = [str(seed), "copydicom-plain-sr", patient_id]
    uid = lambda tag: generate_uid(entropy_srcs=[*entropy, tag])  # noqa: E731
    root = container(Code("11528-7", "LN", "Radiology Report"),
                     [text_item(Code("121071", "DCM", "Finding"), text)], relationship=None)
    return sr_document(
        root, sop_class=BASIC_TEXT_SR, sop_uid=uid("sop"), series_uid=uid("series"),
        study_uid=study_uid or uid("study"), charset=None, patient_id=patient_id,
        patient_name="Text^Report", patient_sex="M", patient_age="060Y",
        study_date=date(2024, 3, 14), study_time=time(10, 0), accession_number="ACC-TEXT",
        study_description="Report", series_description=series_description, series_number=1,
        manufacturer="ACME Medical", station_name="RIS",
    )
