"""Concept code -> record key table for dose reports, and unit normalisation.

Why a table keyed by (CodingSchemeDesignator, CodeValue): vendors spell code meanings differently
("X-ray" / "X-Ray", wrong meanings on right codes), so matching by meaning alone is fragile. The
items are those OpenREM's RDSR extractor reads (CT: TID 10011-10015; projection X-ray: TID
10001-10007). Codes not listed fall back to the CamelCase of their meaning (:func:`camel_key`).
docs/dose-records.md renders the same table; a test keeps the two in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from copydicom_provider.records.radiopharmaceutical import (
    ORGAN_DOSE_CONTAINER,
    ORGAN_NAMING,
    RADIOPHARMACEUTICAL_KEYS,
)
from copydicom_provider.records.units import normalise_unit  # noqa: F401 - re-exported

# Event containers: each becomes one RecordType=irradiation_event record.
EVENT_CONTAINERS: dict[tuple[str, str], str] = {
    ("DCM", "113819"): "CT Acquisition",  # TID 10013
    ("DCM", "113706"): "Irradiation Event X-Ray Data",  # TID 10003
}
# Vendors that get the code wrong still spell the meaning right (matched case-insensitively).
EVENT_CONTAINER_MEANINGS = frozenset(m.lower() for m in EVENT_CONTAINERS.values())


@dataclass(frozen=True)
class Group:
    """A container whose numbers are also kept per instance of it, named by one of its children.

    Why: values of two X-ray tubes, two planes or two filters would otherwise pair only by list
    position, and one missing value would shift the rest. ``<Key>_<name>`` keeps each apart.
    """

    prefix: str  # put before the naming child's text: "Source" + "A"
    naming: frozenset[tuple[str, str]]  # concept of the child whose value names the instance
    fallback: str  # name by position when no child names it: "Source" + "1"
    total: bool  # the key's scalar is the sum over instances (per-plane totals), else the mean
    scalar: bool = True  # False: only per instance (organ doses: a mean over organs means nothing)


GROUP_CONTAINERS: dict[tuple[str, str], Group] = {
    # CT X-Ray Source Parameters (TID 10014), named by Identification of the X-Ray Source
    ("DCM", "113831"): Group("Source", frozenset({("DCM", "113832")}), "Source", total=False),
    # Accumulated X-Ray Dose Data (TID 10002), one per plane of a biplane system
    ("DCM", "113702"): Group("", frozenset({("DCM", "113764")}), "Plane", total=True),
    # X-Ray Filters (TID 10003), named by the filter material
    ("DCM", "113771"): Group("Filter", frozenset({("DCM", "113757")}), "Filter", total=False),
    # Organ Dose Information (TID 10023), named by its finding site (the organ)
    ORGAN_DOSE_CONTAINER: Group("", ORGAN_NAMING, "Organ", total=False, scalar=False),
}
# A NUM qualified by laterality (mammography's accumulated AGD per breast) is kept per side too.
LATERALITY = frozenset({("SCT", "272741003"), ("SRT", "G-C171")})

DOSE_REPORT_ROOT = ("DCM", "113701")  # X-Ray Radiation Dose Report (TID 10001 / 10011)

# (scheme, code) -> key. Grouped by where the item sits; the grouping adds nothing to the key.
CONCEPT_KEYS: dict[tuple[str, str], str] = {
    # Report context (TID 10011 / 10001, TID 1002 observer context)
    ("DCM", "121058"): "ProcedureReported",
    ("SCT", "363703001"): "HasIntent",
    ("SRT", "G-C0E8"): "HasIntent",
    ("DCM", "121005"): "ObserverType",
    ("DCM", "121012"): "DeviceObserverUID",
    ("DCM", "121013"): "DeviceObserverName",
    ("DCM", "121014"): "DeviceObserverManufacturer",
    ("DCM", "121015"): "DeviceObserverModelName",
    ("DCM", "121016"): "DeviceObserverSerialNumber",
    ("DCM", "121017"): "DeviceObserverPhysicalLocation",
    ("DCM", "113809"): "StartOfXRayIrradiation",
    ("DCM", "113810"): "EndOfXRayIrradiation",
    ("DCM", "113705"): "ScopeOfAccumulation",
    ("DCM", "110180"): "ScopeStudyInstanceUID",  # not StudyInstanceUID: that is a join key
    ("DCM", "113854"): "SourceOfDoseInformation",
    ("DCM", "122142"): "AcquisitionDeviceType",
    ("DCM", "121106"): "Comment",
    # CT accumulated dose data (TID 10012)
    ("DCM", "113812"): "NumberOfEvents",
    ("DCM", "113813"): "DLPTotal",
    ("DCM", "130745"): "DLPSubTotal",
    ("DCM", "113814"): "EffectiveDoseTotal",
    # CT acquisition (TID 10013) and its parameters (TID 10014)
    ("DCM", "125203"): "AcquisitionProtocol",
    ("DCM", "123014"): "TargetRegion",
    ("DCM", "113820"): "AcquisitionType",
    ("SCT", "408730004"): "ProcedureContext",
    ("SRT", "G-C32C"): "ProcedureContext",
    ("DCM", "113769"): "IrradiationEventUID",
    ("DCM", "113605"): "IrradiationEventLabel",
    ("DCM", "113606"): "LabelType",
    ("DCM", "113824"): "ExposureTime",
    ("DCM", "113825"): "ScanningLength",
    ("DCM", "113893"): "LengthOfReconstructableVolume",
    ("DCM", "113899"): "ExposedRange",
    ("DCM", "113895"): "TopZLocationOfReconstructableVolume",
    ("DCM", "113896"): "BottomZLocationOfReconstructableVolume",
    ("DCM", "113897"): "TopZLocationOfScanningLength",
    ("DCM", "113898"): "BottomZLocationOfScanningLength",
    ("DCM", "113826"): "NominalSingleCollimationWidth",
    ("DCM", "113827"): "NominalTotalCollimationWidth",
    ("DCM", "113828"): "PitchFactor",
    ("DCM", "113823"): "NumberOfXRaySources",
    ("DCM", "113832"): "XRaySourceID",
    ("DCM", "113733"): "KVP",
    ("DCM", "113734"): "TubeCurrent",
    ("DCM", "113833"): "MaxTubeCurrent",
    ("DCM", "113834"): "ExposureTimePerRotation",
    ("DCM", "113842"): "XRayModulationType",
    # CT dose (TID 10013 "CT Dose") and dose check (TID 10015)
    ("DCM", "113830"): "CTDIvol",
    ("DCM", "113838"): "DLP",
    ("DCM", "113835"): "PhantomType",  # CTDIw Phantom Type
    ("DCM", "113836"): "CTDIfreeairCalculationFactor",
    ("DCM", "113837"): "CTDIfreeair",
    ("DCM", "113839"): "EffectiveDose",
    ("DCM", "113817"): "EffectiveDosePhantomType",
    ("DCM", "113930"): "SSDE",  # Size Specific Dose Estimate (AAPM TG 204/220, CP 1525)
    ("DCM", "113980"): "WaterEquivalentDiameter",  # the patient's size the SSDE was estimated from
    ("DCM", "113901"): "DLPAlertValueConfigured",
    ("DCM", "113902"): "CTDIvolAlertValueConfigured",
    ("DCM", "113903"): "DLPAlertValue",
    ("DCM", "113904"): "CTDIvolAlertValue",
    ("DCM", "113905"): "AccumulatedDLPForwardEstimate",
    ("DCM", "113906"): "AccumulatedCTDIvolForwardEstimate",
    ("DCM", "113907"): "ReasonForProceeding",
    ("DCM", "113909"): "DLPNotificationValueConfigured",
    ("DCM", "113910"): "CTDIvolNotificationValueConfigured",
    ("DCM", "113911"): "DLPNotificationValue",
    ("DCM", "113912"): "CTDIvolNotificationValue",
    ("DCM", "113913"): "DLPForwardEstimate",
    ("DCM", "113914"): "CTDIvolForwardEstimate",
    # Device participant (TID 1021): not DeviceSerialNumber etc., those are join keys
    ("DCM", "113876"): "DeviceRoleInProcedure",
    ("DCM", "113877"): "DeviceParticipantName",
    ("DCM", "113878"): "DeviceParticipantManufacturer",
    ("DCM", "113879"): "DeviceParticipantModelName",
    ("DCM", "113880"): "DeviceParticipantSerialNumber",
    # Projection X-ray accumulated data (TID 10002, 10004, 10005, 10007)
    ("DCM", "113764"): "AcquisitionPlane",
    ("DCM", "113722"): "DoseAreaProductTotal",
    ("DCM", "113725"): "DoseRPTotal",
    ("DCM", "113726"): "FluoroDoseAreaProductTotal",
    ("DCM", "113728"): "FluoroDoseRPTotal",
    ("DCM", "113730"): "TotalFluoroTime",
    ("DCM", "113727"): "AcquisitionDoseAreaProductTotal",
    ("DCM", "113729"): "AcquisitionDoseRPTotal",
    ("DCM", "113855"): "TotalAcquisitionTime",
    ("DCM", "113731"): "TotalNumberOfRadiographicFrames",
    ("DCM", "111637"): "AccumulatedAverageGlandularDose",
    ("DCM", "113780"): "ReferencePointDefinition",
    ("DCM", "113794"): "DoseMeasurementDevice",
    ("DCM", "113723"): "CalibrationDate",
    ("DCM", "122322"): "CalibrationFactor",
    # Projection X-ray irradiation event (TID 10003, 10003A-C)
    ("DCM", "113721"): "IrradiationEventType",
    ("DCM", "111526"): "DateTimeStarted",
    ("DCM", "122130"): "DoseAreaProduct",
    ("DCM", "113738"): "DoseRP",
    ("DCM", "111636"): "EntranceExposureAtRP",
    ("DCM", "111631"): "AverageGlandularDose",
    ("DCM", "111634"): "HalfValueLayer",
    ("DCM", "111031"): "ImageView",
    ("SCT", "272741003"): "Laterality",
    ("SCT", "91723000"): "AnatomicalStructure",
    ("DCM", "113745"): "PatientTableRelationship",
    ("DCM", "113743"): "PatientOrientation",
    ("DCM", "113744"): "PatientOrientationModifier",
    ("DCM", "113732"): "FluoroMode",
    ("DCM", "113791"): "PulseRate",
    ("DCM", "113768"): "NumberOfPulses",
    ("DCM", "113742"): "IrradiationDuration",
    ("DCM", "113767"): "AverageTubeCurrent",
    ("DCM", "113735"): "ExposureTime",
    ("DCM", "113736"): "Exposure",
    ("DCM", "113793"): "PulseWidth",
    ("DCM", "113766"): "FocalSpotSize",
    ("DCM", "111632"): "AnodeTargetMaterial",
    ("DCM", "113790"): "CollimatedFieldArea",
    ("DCM", "113788"): "CollimatedFieldHeight",
    ("DCM", "113789"): "CollimatedFieldWidth",
    ("DCM", "111635"): "XRayGrid",
    ("DCM", "113772"): "XRayFilterType",
    ("DCM", "113757"): "XRayFilterMaterial",
    ("DCM", "113758"): "XRayFilterThicknessMinimum",
    ("DCM", "113773"): "XRayFilterThicknessMaximum",
    ("DCM", "113845"): "ExposureIndex",
    ("DCM", "113846"): "TargetExposureIndex",
    ("DCM", "113847"): "DeviationIndex",
    ("DCM", "112011"): "PositionerPrimaryAngle",
    ("DCM", "112012"): "PositionerSecondaryAngle",
    ("DCM", "113739"): "PositionerPrimaryEndAngle",
    ("DCM", "113740"): "PositionerSecondaryEndAngle",
    ("DCM", "113770"): "ColumnAngulation",
    ("DCM", "113754"): "TableHeadTiltAngle",
    ("DCM", "113755"): "TableHorizontalRotationAngle",
    ("DCM", "113756"): "TableCradleTiltAngle",
    ("DCM", "111633"): "CompressionThickness",
    ("DCM", "113748"): "DistanceSourceToIsocenter",
    ("DCM", "113737"): "DistanceSourceToReferencePoint",
    ("DCM", "113750"): "DistanceSourceToDetector",
    ("DCM", "113751"): "TableLongitudinalPosition",
    ("DCM", "113752"): "TableLateralPosition",
    ("DCM", "113753"): "TableHeightPosition",
    # Radiopharmaceutical administration (TID 10021-10023), see records.radiopharmaceutical
    **RADIOPHARMACEUTICAL_KEYS,
}

# Keys every dose record carries from the DICOM header; SR content must not overwrite them.
JOIN_KEYS = (
    "SOPInstanceUID", "StudyInstanceUID", "AccessionNumber", "StationName", "Manufacturer",
    "ManufacturerModelName", "DeviceSerialNumber", "StudyDescription",
    "RequestedProcedureDescription", "PatientSex",
)
# Header tags copied into every dose record (join keys first), in this order.
HEADER_KEYS = (*JOIN_KEYS[:2], "SeriesInstanceUID", "SOPClassUID", *JOIN_KEYS[2:],
               "SeriesDescription")
# Derived header keys.
DERIVED_KEYS = ("StudyDateTime", "PatientAgeYears")
# Keys the dose records (records.dose) and the record builder (records.instance) write themselves.
RECORD_KEYS = ("RecordType", "RecordKey", "EventIndex", "EventCount", "FirstIrradiationEventUID",
               "ParseWarnings", "ParseWarningCount", "OmittedForSize", "ContentItemsOmitted",
               "ReportIncomplete", "BreastsImaged")
RESERVED_KEYS = frozenset(HEADER_KEYS) | frozenset(DERIVED_KEYS) | frozenset(RECORD_KEYS)


def concept_key(scheme: str, value: str, meaning: str) -> str:
    """The record key for a concept name: the table first, else CamelCase of the meaning.

    A fallback that would shadow a header key (e.g. a private "Station Name" concept) gets an
    ``SR`` prefix, so header values are never overwritten by report content.
    """
    key = CONCEPT_KEYS.get((scheme, value))
    if key is None:
        # SRT codes were renamed to SCT with the same meaning; same key either way.
        key = camel_key(meaning) or f"Code{_alnum(scheme)}{_alnum(value)}"
    if key in RESERVED_KEYS:
        key = "SR" + key
    return key


def camel_key(meaning: str) -> str:
    """ "Mean CTDIfreeair" -> "MeanCTDIfreeair", "Dose (RP)" -> "DoseRP", "X-Ray" -> "XRay"."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", meaning) if w]
    key = "".join(w[0].upper() + w[1:] for w in words)
    if key and key[0].isdigit():
        key = "N" + key
    return key


def _alnum(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", text)
