"""The de-identification audit corpus: one instance per common clinical kind, identifiers planted where files hide them.

Why: a de-identifier passes whatever its own tests plant. This corpus plants what an audit found
leaking (issue 22): burned-in names in ultrasound, photographs, XA, screen captures and documents;
original UIDs and the PACS host in KOS retrieve URLs, concatenation sources and retrieve locations;
names, IDs and dates in free text the Annex E table does not list; physicians of every kind, birth
names, other IDs, two-letter name parts, accent-free spellings; odd dates; identities that merge;
ISO 2022 and GB18030 names; and the Type 1/2 attributes a copy must keep to stay valid DICOM.

Each case says what must happen: ``sent`` (arrives, clean and valid, pixels untouched) or
``withheld`` (never arrives; the reason's kind: burned-in, unknown class, encapsulated document).
``planted`` names where values were put that no table lists (paths as the audit reports them): the
audit walk, run on the original itself, must report each of them on its own.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.support.deid_corpus_base import (
    ISSUER_A,
    ISSUER_B,
    KOWALCZYK,
    NG,
    NO_ID_A,
    NO_ID_B,
    ODEGARD,
    ODEGARD_PLAIN,
    PHYSICIANS,
    STUDY_DATE,
    WANG,
    YAMADA,
    Patient,
    base,
    drawn_text,
    gradient,
    image_plane,
    set_ct_pixels,
    set_pixels,
    uid,
)
from tests.support.deid_corpus_documents import encapsulated_cda, encapsulated_pdf, verified_report
from tests.support.deid_corpus_objects import enhanced_ct, gsps, kos, rtstruct, seg
from tests.support.phi_cases import make_planted_dose_sr

SENT, WITHHELD = "sent", "withheld"
BURNED_IN, UNKNOWN_CLASS, DOCUMENT = "burned-in", "unknown class", "encapsulated document"

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTIFRAME = "1.2.840.10008.5.1.4.1.1.3.1"
VL_PHOTOGRAPHIC = "1.2.840.10008.5.1.4.1.1.77.1.4"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
XA_IMAGE = "1.2.840.10008.5.1.4.1.1.12.1"
CSA_NON_IMAGE = "1.3.12.2.1107.5.9.1"


@dataclass
class CorpusCase:
    """One original instance and what the de-identified run must do with it."""

    name: str
    dataset: Dataset
    expected: str
    reason: str = ""
    planted: tuple[str, ...] = field(default_factory=tuple)

    @property
    def marker(self) -> int:
        return int(self.dataset.InstanceNumber)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.dataset.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue()


def ct_image(marker: int, patient: Patient = KOWALCZYK, key: str = "ct", **extra: object) -> Dataset:
    """A CT image with names, IDs and dates in the free text vendors write (window explanations, kernel)."""
    ds = base(CT_IMAGE, "CT", patient, key=key, marker=marker)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.AcquisitionDate, ds.ContentDate = STUDY_DATE, STUDY_DATE
    ds.AcquisitionTime, ds.ContentTime = "094107", "094107"
    ds.KVP, ds.ConvolutionKernel, ds.AcquisitionNumber = "120", ["B30f", patient.family[:16]], 1
    ds.PatientPosition = "HFS"
    ds.DateOfLastCalibration, ds.TimeOfLastCalibration = "20240101", "070000"
    image_plane(ds, uid(key, "frame-of-reference"))
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
    ds.WindowCenter, ds.WindowWidth = ["40", "-600"], ["400", "1500"]
    ds.WindowCenterWidthExplanation = ["MEDIASTINUM", f"LUNG {patient.family} {patient.patient_id}"]
    ds.ReferencedStudySequence = Sequence([_reference("1.2.840.10008.3.1.2.3.1", uid(key, "study"))])
    ds.ReferencedPerformedProcedureStepSequence = Sequence([_reference("1.2.840.10008.3.1.2.3.3", uid(key, "mpps"))])
    ds.RequestedProcedureDescription = f"CT thorax {patient.family}"
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    set_ct_pixels(ds, gradient())
    return ds


def _reference(sop_class: str, sop_uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, sop_uid
    return item


def mr_with_overlay(marker: int) -> Dataset:
    """An MR image (ISO_IR 100 name) with an overlay whose label spells the name without accents."""
    ds = base(MR_IMAGE, "MR", ODEGARD, key="mr", marker=marker)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M"]
    ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions, ds.MRAcquisitionType = "SE", "NONE", "", "2D"
    ds.RepetitionTime, ds.EchoTime, ds.EchoTrainLength, ds.MagneticFieldStrength = "500", "15", "1", "1.5"
    ds.AcquisitionDate = ds.ContentDate = STUDY_DATE
    ds.ContentTime = "094107"
    ds.PatientPosition = "HFS"
    image_plane(ds, uid("mr", "frame-of-reference"))
    ds.WindowCenter, ds.WindowWidth, ds.WindowCenterWidthExplanation = "400", "800", ODEGARD_PLAIN
    image = gradient()
    set_ct_pixels(ds, image)
    ds.add_new(0x60000010, "US", image.shape[0])
    ds.add_new(0x60000011, "US", image.shape[1])
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60000022, "LO", "Ødegård MRN-61512 lesion outline")  # OverlayDescription
    ds.add_new(0x60001500, "LO", ODEGARD_PLAIN)  # OverlayLabel
    ds.add_new(0x60003000, "OW", bytes(image.shape[0] * image.shape[1] // 8))
    return ds


def burned_in(sop_class: str, modality: str, marker: int, key: str, *, rgb: bool = False, frames: int = 1,
              burned_in_annotation: str | None = None) -> Dataset:
    """An image whose pixels show the patient's name and MRN, as ultrasound, photographs and captures do."""
    ds = base(sop_class, modality, KOWALCZYK, key=key, marker=marker)
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.ContentDate, ds.ContentTime = STUDY_DATE, "094107"
    ds.PatientOrientation = ""
    if burned_in_annotation is not None:
        ds.BurnedInAnnotation = burned_in_annotation
    lines = [] if burned_in_annotation == "NO" else ["KOWALCZYK^BRUNHILDE", "MRN-77123  12/03/2024"]
    set_pixels(ds, drawn_text(lines, 96, 160), rgb=rgb, frames=frames)
    if frames > 1:
        ds.FrameTime, ds.FrameIncrementPointer = "33.3", 0x00181063
    return ds


def ultrasound(marker: int, frames: int = 1) -> Dataset:
    ds = burned_in(US_MULTIFRAME if frames > 1 else US_IMAGE, "US", marker, f"us-{frames}", rgb=True, frames=frames)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "ABDOMINAL", "0001"]
    return ds


def xa(marker: int, burned_in_annotation: str | None) -> Dataset:
    ds = burned_in(XA_IMAGE, "XA", marker, f"xa-{burned_in_annotation}", frames=2,
                   burned_in_annotation=burned_in_annotation)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "SINGLE PLANE"]
    ds.FrameIncrementPointer = 0x00181063
    ds.KVP, ds.RadiationSetting, ds.PositionerMotion = "80", "GR", "STATIC"
    ds.PositionerPrimaryAngle, ds.PositionerSecondaryAngle = "0", "0"
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"
    ds.PixelIntensityRelationship, ds.AcquisitionDate, ds.AcquisitionTime = "LIN", STUDY_DATE, "094107"
    return ds


def photograph(marker: int) -> Dataset:
    ds = burned_in(VL_PHOTOGRAPHIC, "XC", marker, "vl-photo", rgb=True)
    ds.AcquisitionDateTime, ds.LossyImageCompression = STUDY_DATE + "094107", "00"
    return ds


def screen_capture(marker: int) -> Dataset:
    ds = burned_in(SECONDARY_CAPTURE, "OT", marker, "sc")
    ds.ConversionType = "WSD"
    return ds


def dose_sr(marker: int) -> Dataset:
    """The project's planted dose SR (names, IDs and dates three levels deep), in the corpus too."""
    ds = make_planted_dose_sr(accession_number="ACC-DOSE-1").dataset
    ds.InstanceNumber = marker
    return ds


def names_in_free_text(marker: int) -> Dataset:
    """Each identifier the safety net does not hunt, alone in a window explanation (the net blanks a whole element)."""
    hidden = [f"read {PHYSICIANS['NameOfPhysiciansReadingStudy']}", f"record {PHYSICIANS['PhysiciansOfRecord']}",
              f"consult {PHYSICIANS['ConsultingPhysicianName']}", f"request {PHYSICIANS['RequestingPhysician']}",
              f"nee {KOWALCZYK.birth_name.split('^')[0]}", f"prior {KOWALCZYK.other_ids[0][0]}"]
    return ct_image(marker, key="ct-free-text", WindowCenter=["40"] * len(hidden), WindowWidth=["400"] * len(hidden),
                    WindowCenterWidthExplanation=[text.replace("^", " ") for text in hidden])


def private_class(marker: int) -> Dataset:
    """A vendor's non-image object (Siemens CSA Non-Image): a class no one can say is clean."""
    ds = base(CSA_NON_IMAGE, "OT", KOWALCZYK, key="csa", marker=marker)
    block = ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True)
    block.add_new(0x10, "OB", f"{KOWALCZYK.name} {KOWALCZYK.patient_id}".encode())
    return ds


def odd_dates(marker: int) -> Dataset:
    """Valid but extreme, malformed, offset and multi-valued dates: none may crash a run, none may survive."""
    return ct_image(marker, key="odd-dates", DateOfLastCalibration=["20240101", "99991231"],
                    AcquisitionDate="2024-03-12", ContentDate="2024031", ContentTime="256100",
                    AcquisitionDateTime="20240312094107.250000+0100", DateOfSecondaryCapture="20240312",
                    WindowCenterWidthExplanation=["MEDIASTINUM scan of 12/03/2024", "LUNG 20240312"])


PHYSICIAN_PATHS = tuple(PHYSICIANS)
BUILDERS: list[tuple[str, Callable[[int], Dataset], str, str, tuple[str, ...]]] = [
    ("ct", ct_image, SENT, "", ("WindowCenterWidthExplanation", "ConvolutionKernel", "SoftwareVersions",
                                 "RequestedProcedureDescription", *PHYSICIAN_PATHS)),
    ("ct-names-in-free-text", names_in_free_text, SENT, "", ("WindowCenterWidthExplanation",)),
    ("mr-overlay-iso-ir-100", mr_with_overlay, SENT, "",
     ("WindowCenterWidthExplanation", "OverlayDescription", "OverlayLabel")),
    ("ct-two-letter-names", lambda m: ct_image(m, NG, "ct-ng"), SENT, "", ("ConvolutionKernel", "PatientBirthName")),
    ("ct-iso-2022-ir-87", lambda m: ct_image(m, YAMADA, "ct-yamada"), SENT, "", ("ConvolutionKernel",)),
    ("ct-gb18030", lambda m: ct_image(m, WANG, "ct-wang"), SENT, "", ("ConvolutionKernel",)),
    ("ct-calibrated-year-1", lambda m: ct_image(m, key="ct-year-1", DateOfLastCalibration="00010102"), SENT, "", ()),
    ("ct-odd-dates", odd_dates, SENT, "",
     ("AcquisitionDate", "AcquisitionDateTime", "DateOfLastCalibration", "WindowCenterWidthExplanation")),
    ("ct-issuer-alder", lambda m: ct_image(m, ISSUER_A, "ct-alder"), SENT, "", ()),
    ("ct-issuer-birch", lambda m: ct_image(m, ISSUER_B, "ct-birch"), SENT, "", ()),
    ("ct-no-patient-id-a", lambda m: ct_image(m, NO_ID_A, "ct-noid-a"), SENT, "", ()),
    ("ct-no-patient-id-b", lambda m: ct_image(m, NO_ID_B, "ct-noid-b"), SENT, "", ()),
    ("enhanced-ct-concatenation", enhanced_ct, SENT, "", ("SOPInstanceUIDOfConcatenationSource",
                                                         "SharedFunctionalGroupsSequence[0].CTReconstructionSequence")),
    ("dose-sr", dose_sr, SENT, "", ()),
    ("kos-retrieve-url", kos, SENT, "", (("CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]"
                                         ".RetrieveURL"),)),
    ("sr-verified-report", verified_report, SENT, "", ()),
    ("gsps", gsps, SENT, "", ()),
    ("seg", seg, SENT, "", ()),
    ("rtstruct", rtstruct, SENT, "", ()),
    ("xa-burned-in-no", lambda m: xa(m, "NO"), SENT, "", ()),
    ("us-single-frame", ultrasound, WITHHELD, BURNED_IN, ()),
    ("us-multi-frame", lambda m: ultrasound(m, frames=3), WITHHELD, BURNED_IN, ()),
    ("vl-photographic", photograph, WITHHELD, BURNED_IN, ()),
    ("secondary-capture", screen_capture, WITHHELD, BURNED_IN, ()),
    ("xa-without-burned-in-annotation", lambda m: xa(m, None), WITHHELD, BURNED_IN, ()),
    ("encapsulated-pdf", encapsulated_pdf, WITHHELD, DOCUMENT, ()),
    ("encapsulated-pdf-declared-clean", lambda m: encapsulated_pdf(m, burned_in_annotation="NO"), WITHHELD,
     DOCUMENT, ()),
    ("encapsulated-cda", encapsulated_cda, WITHHELD, DOCUMENT, ()),
    ("private-sop-class", private_class, WITHHELD, UNKNOWN_CLASS, ()),
]

#: Cases whose copies must be told apart: two people, so two pseudonyms and two date shifts.
DISTINCT_IDENTITIES = [("ct-issuer-alder", "ct-issuer-birch"), ("ct-no-patient-id-a", "ct-no-patient-id-b")]


def corpus() -> list[CorpusCase]:
    """Every case, each with its own InstanceNumber (1001, 1002, ...)."""
    return [CorpusCase(name, build(1001 + index), expected, reason, planted)
            for index, (name, build, expected, reason, planted) in enumerate(BUILDERS)]


CASES_BY_NAME = {case.name: case for case in corpus()}
