"""Orthanc's resource IDs computed from an instance's identifiers, as the Orthanc Book defines them."""

from __future__ import annotations

import hashlib
import re

import pytest
from pydicom.dataset import Dataset

from copydicom_provider.dicom.ids import orthanc_id, orthanc_ids

ORTHANC_ID = re.compile(r"^[0-9a-f]{8}(?:-[0-9a-f]{8}){4}$")


def _sha1_id(text: str) -> str:
    digest = hashlib.sha1(text.encode()).hexdigest()
    return "-".join([digest[0:8], digest[8:16], digest[16:24], digest[24:32], digest[32:40]])


def test_orthanc_id_of_known_digests():
    assert orthanc_id("") == "da39a3ee-5e6b4b0d-3255bfef-95601890-afd80709"  # SHA-1 of nothing
    assert orthanc_id("abc") == "a9993e36-4706816a-ba3e2571-7850c26c-9cd0d89d"  # FIPS 180's first example


def test_orthanc_id_hashes_the_identifiers_joined_by_a_pipe():
    assert orthanc_id("MRN-1", "1.2.3", "1.2.3.4") == _sha1_id("MRN-1|1.2.3|1.2.3.4")
    assert ORTHANC_ID.match(orthanc_id("MRN-1", "1.2.3", "1.2.3.4", "1.2.3.4.5"))


@pytest.fixture
def dataset() -> Dataset:
    ds = Dataset()
    identifiers = {"PatientID": " MRN-1 ", "StudyInstanceUID": "1.2.3", "SeriesInstanceUID": "1.2.3.4",
                   "SOPInstanceUID": "1.2.3.4.5"}
    for keyword, value in identifiers.items():
        setattr(ds, keyword, value)
    return ds


def test_orthanc_ids_names_each_level_from_the_stripped_identifiers(dataset):
    assert orthanc_ids(dataset) == {
        "OrthancPatientID": _sha1_id("MRN-1"),
        "OrthancStudyID": _sha1_id("MRN-1|1.2.3"),
        "OrthancSeriesID": _sha1_id("MRN-1|1.2.3|1.2.3.4"),
        "OrthancInstanceID": _sha1_id("MRN-1|1.2.3|1.2.3.4|1.2.3.4.5"),
    }


@pytest.mark.parametrize("absent", [None, ""])
def test_a_missing_patient_id_hashes_as_empty(dataset, absent):
    if absent is None:
        del dataset.PatientID
    else:
        dataset.PatientID = absent
    ids = orthanc_ids(dataset)
    assert ids["OrthancPatientID"] == orthanc_id("")
    assert ids["OrthancInstanceID"] == _sha1_id("|1.2.3|1.2.3.4|1.2.3.4.5")
