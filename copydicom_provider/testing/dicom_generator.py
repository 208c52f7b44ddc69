"""Synthetic but valid DICOM studies, made with pydicom, for tests, the demo and the benchmarks.

Everything is deterministic for a given ``seed``: UIDs come from pydicom's ``generate_uid`` with
fixed entropy, pixel data from a seeded generator. Each yielded :class:`GeneratedInstance` knows the
Orthanc IDs the instance will get on any Orthanc (a SHA-1 of its UIDs), which is the ground truth
the tests compare against.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from copydicom_provider.dicom.ids import orthanc_id

SOP_CLASSES = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
}


@dataclass(frozen=True)
class GeneratedInstance:
    """Identity of one generated instance and the dataset itself."""

    patient_id: str
    study_uid: str
    series_uid: str
    sop_uid: str
    study_date: date
    modality: str
    dataset: Dataset

    @property
    def orthanc_id(self) -> str:
        return orthanc_id(self.patient_id, self.study_uid, self.series_uid, self.sop_uid)

    @property
    def study_orthanc_id(self) -> str:
        return orthanc_id(self.patient_id, self.study_uid)

    @property
    def series_orthanc_id(self) -> str:
        return orthanc_id(self.patient_id, self.study_uid, self.series_uid)

    def to_bytes(self) -> bytes:
        return to_bytes(self.dataset)


def to_bytes(dataset: Dataset) -> bytes:
    """A Part 10 file (preamble, file meta, Explicit VR Little Endian) as bytes."""
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _uid(seed: int, *parts: object) -> str:
    return generate_uid(entropy_srcs=[str(seed), *map(str, parts)])


def _study_dates(count: int, start: date, end: date) -> list[date]:
    if count <= 1:
        return [start] * count
    span = (end - start).days
    return [start + timedelta(days=round(span * k / (count - 1))) for k in range(count)]


def generate_studies(
    patients: int = 2,
    studies_per_patient: int = 2,
    series_per_study: int = 2,
    instances_per_series: int = 3,
    modalities: tuple[str, ...] = ("CT", "MR"),
    start_date: date = date(2020, 1, 1),
    end_date: date = date(2020, 12, 31),
    rows: int = 64,
    columns: int = 64,
    frames: int = 1,
    seed: int = 0,
) -> Iterator[GeneratedInstance]:
    """Yield ``patients x studies x series x instances`` instances, lazily (one in memory at a time).

    Study dates are spread evenly over ``[start_date, end_date]`` in generation order; the
    modality alternates per study. ``rows x columns x frames`` 16-bit pixels set the size.
    """
    total_studies = patients * studies_per_patient
    dates = _study_dates(total_studies, start_date, end_date)
    pixels = np.random.default_rng(seed)
    study_index = 0
    for p in range(patients):
        patient_id = f"CDP{seed:03d}{p:05d}"
        for s in range(studies_per_patient):
            study_uid = _uid(seed, "study", p, s)
            study_date = dates[study_index]
            modality = modalities[study_index % len(modalities)]
            study_index += 1
            for r in range(series_per_study):
                series_uid = _uid(seed, "series", p, s, r)
                for i in range(instances_per_series):
                    sop_uid = _uid(seed, "sop", p, s, r, i)
                    dataset = _image(
                        patient_id, study_uid, series_uid, sop_uid, study_date, modality,
                        series_number=r + 1, instance_number=i + 1,
                        rows=rows, columns=columns, frames=frames, pixels=pixels,
                        accession=f"ACC{seed:03d}{p:04d}{s:03d}",
                    )
                    yield GeneratedInstance(patient_id, study_uid, series_uid, sop_uid, study_date, modality, dataset)


def _image(
    patient_id: str,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    study_date: date,
    modality: str,
    *,
    series_number: int,
    instance_number: int,
    rows: int,
    columns: int,
    frames: int,
    pixels: np.random.Generator,
    accession: str,
) -> Dataset:
    sop_class = SOP_CLASSES[modality]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = generate_uid(entropy_srcs=[series_uid, "frame-of-reference"])
    ds.PatientID = patient_id
    ds.PatientName = f"Synthetic^Patient{patient_id[-4:]}"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = random.Random(patient_id).choice(["F", "M"])
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = study_date.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = f"{8 + series_number % 10:02d}{instance_number % 60:02d}00"
    ds.AccessionNumber = accession
    ds.StudyID = accession[-6:]
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = f"Synthetic {modality} study"
    ds.SeriesDescription = f"{modality} series {series_number}"
    ds.Modality = modality
    ds.Manufacturer = "copydicom synthetic"
    ds.StationName = f"{modality}1"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.ImagePositionPatient = [0.0, 0.0, float(instance_number)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.SliceThickness = 1.0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if modality == "CT":
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.KVP = 120
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
    else:
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "NONE"
        ds.ScanOptions = ""
        ds.MRAcquisitionType = "2D"
        ds.EchoTime = 10.0
        ds.RepetitionTime = 500.0
        ds.MagneticFieldStrength = 1.5
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = pixels.integers(0, 4096, size=rows * columns * frames, dtype=np.uint16).tobytes()
    return ds
