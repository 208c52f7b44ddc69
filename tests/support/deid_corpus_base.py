"""Building blocks of the de-identification audit corpus: patients, the modules every instance shares, pixels.

Why a module of its own: each case in :mod:`tests.support.deid_corpus` is one clinical kind, and what they
all carry (patient, study, series, equipment, SOP common, with identifiers planted where real files
hide them) is written once here. Everything is made with pydicom (text drawn into pixels with
matplotlib's Agg canvas); nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

STUDY_DATE = "20240312"
#: The PACS the original files came from: its host name must never reach the research store.
PACS_HOST = "pacs-west.wenceslas-infirmary.example"

#: Physicians of every kind the issue names, planted in every instance (the safety net must hunt them all).
PHYSICIANS = {
    "ReferringPhysicianName": "Grimsdottir^Helga",
    "NameOfPhysiciansReadingStudy": "Vanterpool^Augustin",
    "PhysiciansOfRecord": "Marchetti^Ottavia",
    "ConsultingPhysicianName": "Szczepanski^Lucjan",
    "RequestingPhysician": "Fairweather^Ignatius",
    "PerformingPhysicianName": "Abiodun^Folasade",
    "OperatorsName": "Okonkwo^Chidinma",
}


@dataclass(frozen=True)
class Patient:
    """A patient of the corpus and the identifiers real files carry for them."""

    patient_id: str
    name: str
    issuer: str = "WENCESLAS-MRN"
    birth_date: str = "19610723"
    birth_name: str = "Pettersson^Brunhilde"
    other_ids: tuple[tuple[str, str], ...] = (("OLD-MRN-30399", "LEGACY-RIS"),)
    charset: str | list[str] | None = None
    sex: str = "F"

    @property
    def family(self) -> str:
        return self.name.split("=")[0].split("^")[0]


KOWALCZYK = Patient("MRN-77123", "Kowalczyk^Brunhilde^Theodora")
#: Accented name; the same name written accent-free is planted elsewhere (``ODEGARD_PLAIN``).
ODEGARD = Patient("MRN-61512", "Ødegård^Søren^Ånund", birth_name="Bjørnstad^Søren", charset="ISO_IR 100", sex="M",
                  other_ids=(("OLD-61512", "FJORD-RIS"),))
ODEGARD_PLAIN = "Odegard Soren"
#: Name parts under three letters (the safety net skips them).
NG = Patient("MRN-40277", "Ng^Yu^Quennell", birth_name="Ho^Yu", sex="M", other_ids=(("OLD-40277", "LEGACY-RIS"),))
YAMADA = Patient("MRN-91833", "Yamada^Tarou=山田^太郎=やまだ^たろう", birth_name="", charset=["", "ISO 2022 IR 87"],
                 sex="M", other_ids=())
WANG = Patient("MRN-52840", "Wang^Xiaodong=王^小东", birth_name="", charset="GB18030", sex="M", other_ids=())
#: Same PatientID, different issuers: two people.
ISSUER_A = Patient("MRN-10001", "Abernathy^Clementine", issuer="HOSP-ALDER", birth_date="19580214",
                   birth_name="Thistlewood^Clementine", other_ids=())
ISSUER_B = Patient("MRN-10001", "Brightwater^Desmond", issuer="HOSP-BIRCH", birth_date="19770930",
                   birth_name="", sex="M", other_ids=())
#: Empty PatientID: two people again.
NO_ID_A = Patient("", "Fairbrother^Imogen", issuer="", birth_date="19690411", birth_name="", other_ids=())
NO_ID_B = Patient("", "Hollingsworth^Lucius", issuer="", birth_date="19830105", birth_name="", sex="M", other_ids=())


def uid(*parts: str) -> str:
    """A deterministic original UID (the same corpus every run)."""
    return generate_uid(entropy_srcs=["copydicom-deid-corpus", *parts])


def code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def base(sop_class: str, modality: str, patient: Patient, *, key: str, study: str | None = None,
         marker: int) -> Dataset:
    """Patient, General Study, General Series, General Equipment and SOP Common modules with identifiers planted.

    ``key`` makes the instance's UIDs; ``study`` (a key) files it in another case's study;
    ``marker`` becomes InstanceNumber, which Annex E keeps: the test finds each copy by it.
    """
    ds = Dataset()
    sop_uid = uid(key, "sop")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = sop_class, sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    if patient.charset is not None:
        ds.SpecificCharacterSet = patient.charset
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    ds.InstanceCreationDate, ds.InstanceCreationTime = STUDY_DATE, "094500"
    ds.InstanceCreatorUID = uid("creator")
    ds.PatientName, ds.PatientID = patient.name, patient.patient_id
    ds.IssuerOfPatientID = patient.issuer
    ds.TypeOfPatientID = "TEXT"
    ds.PatientBirthDate, ds.PatientSex = patient.birth_date, patient.sex
    if patient.birth_name:
        ds.PatientBirthName = patient.birth_name
    if patient.other_ids:
        ds.OtherPatientIDsSequence = Sequence([_other_id(*pair) for pair in patient.other_ids])
    ds.StudyInstanceUID = uid(study or key, "study")
    ds.StudyDate, ds.StudyTime = STUDY_DATE, "094107"
    ds.StudyID = "ST-" + patient.patient_id[-5:] if patient.patient_id else "ST-NOID"
    ds.AccessionNumber = "ACC-" + (study or key)[:12]
    for keyword, name in PHYSICIANS.items():
        setattr(ds, keyword, name)
    ds.Modality = modality
    ds.SeriesInstanceUID = uid(key, "series")
    ds.SeriesNumber, ds.InstanceNumber = 7, marker
    ds.SeriesDate, ds.SeriesTime = STUDY_DATE, "094107"
    ds.Laterality = ""
    ds.Manufacturer, ds.ManufacturerModelName = "ACME Medical", "Scanomatic 64"
    ds.InstitutionName = "St Wenceslas General Infirmary"
    ds.InstitutionAddress = "1 Infirmary Lane, Springfield"
    ds.StationName, ds.DeviceSerialNumber = "CTROOM-WEST-7", "SN-88341"
    ds.SoftwareVersions = f"VB20A site {patient.patient_id or 'NOID'}"  # vendors stamp site and case into it
    return ds


def _other_id(patient_id: str, issuer: str) -> Dataset:
    item = Dataset()
    item.PatientID, item.IssuerOfPatientID, item.TypeOfPatientID = patient_id, issuer, "TEXT"
    return item


def drawn_text(lines: list[str], rows: int, columns: int) -> np.ndarray:
    """A grey image with ``lines`` drawn in white at the top left, as modalities burn in name and MRN."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(columns / 100, rows / 100), dpi=100, facecolor="black")
    for index, line in enumerate(lines):
        figure.text(0.02, 0.95 - index * 0.12, line, color="white", fontsize=9, va="top", family="DejaVu Sans")
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return rgba[:rows, :columns, 0].copy()


def set_pixels(ds: Dataset, image: np.ndarray, *, rgb: bool = False, frames: int = 1) -> None:
    """The Image Pixel module for an 8-bit image (``frames`` copies of ``image``, shifted so frames differ)."""
    rows, columns = image.shape[:2]
    stack = [np.roll(image, shift=4 * n, axis=1) for n in range(frames)]
    if rgb:
        stack = [np.stack([frame] * 3, axis=-1) for frame in stack]
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = np.stack(stack).astype(np.uint8).tobytes()


def gradient(rows: int = 64, columns: int = 64, *, bits: int = 16) -> np.ndarray:
    """A smooth anatomical stand-in: no text, so a sent image's pixels are clean by construction."""
    y, x = np.mgrid[0:rows, 0:columns]
    image = 400 + 300 * np.sin(x / 9.0) * np.cos(y / 7.0)
    return image.astype(np.uint16 if bits == 16 else np.uint8)


def set_ct_pixels(ds: Dataset, image: np.ndarray, *, frames: int = 1) -> None:
    """16-bit MONOCHROME2 pixels with the CT Image module's rescale."""
    ds.Rows, ds.Columns = image.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = np.stack([image] * frames).astype(np.uint16).tobytes()


def image_plane(ds: Dataset, frame_of_reference: str) -> None:
    """Frame of Reference and Image Plane modules of a cross-sectional image."""
    ds.FrameOfReferenceUID = frame_of_reference
    ds.PositionReferenceIndicator = ""
    ds.PixelSpacing = [0.7, 0.7]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [-22.4, -22.4, 100]
    ds.SliceThickness = 1.0
