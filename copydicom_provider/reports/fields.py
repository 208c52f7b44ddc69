"""Every record field the reports and the Splunk app read, in one place.

The names follow docs/dose-records.md (the dose records) and the ``instance`` records of
:mod:`copydicom_provider.records.tags`. When the records rename a field, this module (and the Splunk app's
searches, which a test checks against real records) is what changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from copydicom_provider.records.dose_fields import UNCONVERTED
from copydicom_provider.records.units import KEY_UNITS, key_unit

RECORD_TYPE = "RecordType"
#: RecordType values.
INSTANCE = "instance"
DOSE_REPORT = "dose_report"
IRRADIATION_EVENT = "irradiation_event"

#: The key that counts each irradiation event once (scanners resend reports).
EVENT_UID = "IrradiationEventUID"
#: Deterministic per-record key; the fallback dedupe key of an event that has no UID.
RECORD_KEY = "RecordKey"

PROTOCOL = "AcquisitionProtocol"
STATION = "StationName"
TARGET_REGION = "TargetRegion"
TARGET_REGION_CODE = "TargetRegion_code"
STUDY_UID = "StudyInstanceUID"
#: What the exam was ordered and filed as: the exam-name table reads these first (reports/exam_names.py).
PROCEDURE_DESCRIPTION = "RequestedProcedureDescription"
STUDY_DESCRIPTION = "StudyDescription"
#: What an outlier is found by: the study's accession number, and its Orthanc ID (for the explorer link).
ACCESSION_NUMBER = "AccessionNumber"
ORTHANC_STUDY_ID = "OrthancStudyID"
#: ISO 8601 study date and time, on every dose record.
STUDY_DATETIME = "StudyDateTime"
#: CT acquisition type (113820): its meaning and ``scheme:code``; tells a localizer from a scan.
ACQUISITION_TYPE = "AcquisitionType"
ACQUISITION_TYPE_CODE = "AcquisitionType_code"
#: CTDIw Phantom Type (113835): ``IEC Head Dosimetry Phantom`` (16 cm) or ``IEC Body Dosimetry Phantom`` (32 cm)
PHANTOM_TYPE = "PhantomType"
#: Projection X-ray event type (113721): ``Fluoroscopy`` or ``Stationary Acquisition`` ...
EVENT_TYPE = "IrradiationEventType"
#: Patient age in years, derived by the records from PatientAge (``006M`` -> 0.5).
PATIENT_AGE_YEARS = "PatientAgeYears"
#: Duration of one projection irradiation event, in seconds: a fluoroscopy event's is its fluoroscopy time.
IRRADIATION_DURATION = "IrradiationDuration"
DURATION_UNIT = KEY_UNITS[IRRADIATION_DURATION]

#: Instance records carry the DICOM tags under their keywords.
MODALITY = "Modality"
STUDY_DATE = "StudyDate"

#: Splunk's own event time (ISO 8601 in search results).
TIME = "_time"

UNIT_SUFFIX = "_unit"
#: Splunk names a JSON array ``key{}``: a quantity with several values arrives under that name.
LIST_SUFFIX = "{}"


@dataclass(frozen=True)
class Quantity:
    """A dose quantity of an irradiation event: record key, label for people, the one unit expected.

    ``display_unit`` and ``display_factor`` are how the report shows it (records keep ``unit``):
    DAP is stored in Gy.m2 but read in Gy.cm2 in US practice, where Gy.m2 would put 0.0002 on an axis.
    """

    key: str
    label: str
    unit: str
    modality: str
    display_unit: str = ""
    display_factor: float = 1.0
    #: False for a patient size (water-equivalent diameter): described, never compared with a dose level
    dose: bool = True

    @property
    def unit_key(self) -> str:
        return self.key + UNIT_SUFFIX

    @property
    def list_key(self) -> str:
        return self.key + LIST_SUFFIX

    @property
    def unconverted_key(self) -> str:
        """Where the records keep a value whose unit they could not convert (records.dose_fields)."""
        return self.key + UNCONVERTED

    @property
    def shown_unit(self) -> str:
        """The unit the report's tables and charts use."""
        return self.display_unit or self.unit

    def shown(self, value: float) -> float:
        """A record value (in ``unit``) in the report's unit."""
        return value * self.display_factor


def _shown_in(key: str, unit: str) -> tuple[str, float]:
    """``unit`` and the factor from ``key``'s unit in the records to it, as records.units converts."""
    _, to_records = key_unit(key, unit)
    return unit, float(1 / to_records)


#: The quantities the reports describe, in display order. Units are those the dose records scale to (records.units).
QUANTITIES: tuple[Quantity, ...] = (
    Quantity("CTDIvol", "CTDIvol", KEY_UNITS["CTDIvol"], "CT"),
    Quantity("DLP", "DLP", KEY_UNITS["DLP"], "CT"),
    Quantity("DoseAreaProduct", "DAP", KEY_UNITS["DoseAreaProduct"], "fluoroscopy/radiography",
             *_shown_in("DoseAreaProduct", "Gy.cm2")),
    Quantity("DoseRP", "Dose at reference point", KEY_UNITS["DoseRP"], "fluoroscopy/radiography"),
    Quantity("AverageGlandularDose", "AGD", KEY_UNITS["AverageGlandularDose"], "mammography"),
    # AAPM TG 204/220: the dose the patient's size implies, and that size, where the scanner reports them
    Quantity("SSDE", "SSDE", KEY_UNITS["SSDE"], "CT"),
    Quantity("WaterEquivalentDiameter", "Water-equivalent diameter", KEY_UNITS["WaterEquivalentDiameter"], "CT",
             *_shown_in("WaterEquivalentDiameter", "cm"), dose=False),
)
QUANTITY_BY_KEY = {q.key: q for q in QUANTITIES}

#: The fields of an irradiation event the quarterly report asks Splunk for.
EVENT_FIELDS: tuple[str, ...] = (
    EVENT_UID, RECORD_KEY, PROTOCOL, STATION, TARGET_REGION, TARGET_REGION_CODE, STUDY_UID, STUDY_DATETIME,
    ACCESSION_NUMBER, ORTHANC_STUDY_ID, PROCEDURE_DESCRIPTION, STUDY_DESCRIPTION,
    ACQUISITION_TYPE, ACQUISITION_TYPE_CODE, EVENT_TYPE, PATIENT_AGE_YEARS, PHANTOM_TYPE,
    IRRADIATION_DURATION, IRRADIATION_DURATION + UNIT_SUFFIX, IRRADIATION_DURATION + UNCONVERTED,
    *(name for q in QUANTITIES for name in (q.key, q.unit_key, q.list_key, q.unconverted_key)),
)
#: The fields of an instance record the utilisation table needs.
INSTANCE_FIELDS: tuple[str, ...] = (STUDY_UID, MODALITY, STUDY_DATE)
