"""Dose reports and screenshots with PHI planted where real files hide it, for de-identification tests.

Why: a de-identifier that only sees the header passes a header-only test. These files put names,
IDs and dates deep in the SR content tree (TEXT, PNAME and DATETIME items three levels down),
private elements inside nested sequence items, Other Patient IDs Sequence, Referenced Patient
Sequence and Request Attributes Sequence, in ASCII, ISO_IR 100 and ISO_IR 192. The names are
chosen so that no part of them is an ordinary word of a dose report (an audit that hunts
"Dose" would flag every code meaning).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.sr_content import content_item, datetime_item, text_item

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"

#: Patient names per character set (PN: family^given^middle).
NAMES = {
    None: "Kowalczyk^Brunhilde^Theodora",
    "ISO_IR 100": "Ødegård^Søren^Ånund",
    "ISO_IR 192": "Ξενοφώντος^Ευαγγελία=山岸^瑞穂",
}


@dataclass
class PlantedCase:
    """One generated file and the PHI planted in it (what an audit must never find again)."""

    name: str
    dataset: Dataset
    patient_id: str
    patient_name: str
    study_date: date

    def to_bytes(self) -> bytes:
        return to_bytes(self.dataset)


def _private_block(dataset: Dataset, text: str) -> None:
    """A vendor private block, as a dose-report vendor would add it inside a content item."""
    block = dataset.private_block(0x0029, "ACME DOSE 1.0", create=True)
    block.add_new(0x10, "LO", text)
    block.add_new(0x11, "DA", "19700101")


def make_planted_dose_sr(
    *,
    patient_id: str = "MRN-77123",
    charset: str | None = None,
    study_date: date = date(2024, 3, 14),
    accession_number: str = "ACC-55017",
    seed: int = 0,
) -> PlantedCase:
    """A CT dose SR with PHI in every hiding place the issue lists (see the module docstring)."""
    patient_name = NAMES[charset]
    dataset, _ = make_ct_dose_sr(
        seed=seed, patient_id=patient_id, patient_name=patient_name, study_date=study_date,
        accession_number=accession_number, station_name="CTROOM-WEST-7", device_serial_number="SN-88341",
        study_uid=generate_uid(entropy_srcs=[patient_id, str(study_date), "planted"]),
    )
    if charset is not None:
        dataset.SpecificCharacterSet = charset
    family = patient_name.split("^")[0]
    dataset.PatientName = patient_name
    dataset.PatientBirthDate = "19610723"
    dataset.PatientAddress = "12 Harbour Road, Springfield"
    dataset.PatientTelephoneNumbers = "+44 1632 960417"
    dataset.InstitutionName = "St Wenceslas General Infirmary"
    dataset.InstitutionAddress = "1 Infirmary Lane, Springfield"
    dataset.ReferringPhysicianName = "Grimsdottir^Helga"
    dataset.OperatorsName = "Okonkwo^Chidinma"
    dataset.OtherPatientIDs = "NHS-4857773456"
    dataset.IssuerOfPatientID = "WENCESLAS-MRN"
    other = Dataset()
    other.PatientID, other.IssuerOfPatientID = "OLD-MRN-30399", "LEGACY-RIS"
    dataset.OtherPatientIDsSequence = Sequence([other])
    referenced = Dataset()
    referenced.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.1.1"
    referenced.ReferencedSOPInstanceUID = generate_uid(entropy_srcs=[patient_id, "patient-record"])
    dataset.ReferencedPatientSequence = Sequence([referenced])
    request = Dataset()
    request.RequestedProcedureID = "RP-99120"
    request.ScheduledProcedureStepID = "SPS-99121"
    request.AccessionNumber = accession_number
    _private_block(request, f"{family} {patient_id}")
    dataset.RequestAttributesSequence = Sequence([request])
    _private_block(dataset, patient_name)

    # Deep in the content tree: the first CT Acquisition container, then its CT Dose container.
    acquisition = next(item for item in dataset.ContentSequence if item.ValueType == "CONTAINER"
                       and item.ConceptNameCodeSequence[0].CodeValue == codes.DCM.CTAcquisition.value)
    dose = acquisition.ContentSequence[-1]
    note = text_item(codes.DCM.Comment, f"Scan of {family}, MRN {patient_id}, born 23.07.1961, {accession_number}")
    person = content_item("HAS OBS CONTEXT", "PNAME", codes.DCM.PersonObserverName)
    person.PersonName = patient_name
    when = datetime_item(Code("111526", "DCM", "DateTime Started"),
                         datetime.combine(study_date, time(9, 41, 7)))
    _private_block(when, f"{patient_name} {patient_id}")
    dose.ContentSequence = Sequence([*dose.ContentSequence, note, person, when])
    acquisition.ContentSequence.append(text_item(codes.DCM.AcquisitionProtocol, f"Thorax for {family}"))
    return PlantedCase(f"dose-sr-{charset or 'ascii'}", dataset, patient_id, patient_name, study_date)


def make_screenshot(
    *, patient_id: str = "MRN-77123", burned_in: str | None = None, sop_class: str = SECONDARY_CAPTURE, seed: int = 0
) -> Dataset:
    """A small vendor dose screenshot (Secondary Capture by default); ``burned_in``: YES, NO or absent."""
    uid = lambda tag: generate_uid(entropy_srcs=[patient_id, str(seed), sop_class, str(burned_in), tag])  # noqa: E731
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = uid("sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, uid("sop")
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("study"), uid("series")
    ds.PatientID, ds.PatientName = patient_id, NAMES[None]
    ds.StudyDate, ds.Modality, ds.SeriesDescription = (
        "20240314",
        "OT" if sop_class == SECONDARY_CAPTURE else "CT",
        "Dose Info",
    )
    if burned_in is not None:
        ds.BurnedInAnnotation = burned_in
    ds.Rows = ds.Columns = 4
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = bytes(range(16))
    return ds
