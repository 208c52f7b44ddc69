"""An outside audit of the de-identifier: vendor-style files with PHI planted where real files hide it.

Why: the corpus (tests/integration/deid/test_corpus.py) was written with the de-identifier and passes; this
module is the red team's. Each instance is built here with pydicom the way vendors write them,
de-identified with ``AnonymizationProfile.deidentify`` (and the gate's ``withheld_reason``), and
judged by the project's three auditors (the walk, dicognito, dciodvfy) or, where none of them can
see the leak (a preamble, a JPEG comment, an exact age), by a direct check.

This module's "findings" sections are what the red team found leaking, crashing or invalid before the
profile was mended (each failed then); what was tried and already held is test_redteam_holds.py, and the
pass through real Orthanc tests/integration/deid/test_redteam.py. All of them guard against regressions now.
"""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.coding import Code
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from copydicom_provider.deid import AnonymizationProfile, CannotDeidentify, Identity, withheld_reason
from copydicom_provider.testing.dose_sr import container, text_item
from tests.support import iod_validator
from tests.support.deid_corpus_base import (
    ODEGARD,
    code,
)
from tests.support.phi_cases import make_planted_dose_sr
from tests.support.redteam import (
    CT,
    HARALDSEN,
    PROFILE,
    VIDEO_PHOTO,
    VL_PHOTO,
    ct_image,
    deidentified,
    findings,
    in_kept_text,
    jpeg_ct,
    needs_dciodvfy,
    raw,
    read,
    to_bytes,
    with_element_bytes,
)

# --- findings: what still leaks --------------------------------------------------------------


def test_birth_date_is_emptied_not_shifted() -> None:
    """No auditor sees it (the shifted date differs from the original), yet the age to the day goes out."""
    ds = ct_image()
    ds.PatientBirthTime = "061500"  # Annex E X; kept too, as every TM is, before the table is asked
    _original, copy = deidentified(ds)
    out = read(copy)
    assert "PatientAge" not in out  # the profile removes the age ...
    assert not out.get("PatientBirthDate"), (  # ... and must not leave it computable
        f"birth {out.PatientBirthDate}, study {out.StudyDate}: the exact age at the exam is kept")
    assert "PatientBirthTime" not in out


@pytest.mark.parametrize(("keyword", "vr", "value"), [
    ("BodyPartExamined", "CS", b"MRN-77123"),  # free-typed body part (CR/DX consoles allow it)
    ("ScanOptions", "CS", b"KOWALCZYK"),
    ("ContentLabel", "CS", b"KOWALCZYK_KEY_IMAGES"),  # a valid CS, typed by the user on many workstations
    ("SeriesNumber", "IS", b"MRN-77123"),  # a number string holding the MRN, as an old converter wrote it
])
def test_identifier_in_a_code_or_number_string_is_not_sent(keyword: str, vr: str, value: bytes) -> None:
    ds = ct_image()
    raw(ds, keyword, vr, value)
    original, copy = deidentified(ds)
    assert not findings(original, copy, validate=False)


@pytest.mark.parametrize("description", ["Thorax Odegard Soren", "Knee Bjornstad"])
def test_accent_free_spelling_of_a_name_in_kept_text_is_hunted(description: str) -> None:
    assert not in_kept_text("SeriesDescription", description, ODEGARD)


@pytest.mark.parametrize(("description", "written"), [
    ("Recon 20240312094107", "20240312"), ("Recon 2024-3-12", "2024-3-12"), ("Recon 2024-Mar-12", "2024-Mar-12"),
])
def test_every_date_form_in_kept_text_is_shifted(description: str, written: str) -> None:
    ds = ct_image()
    ds.SeriesDescription = description
    original, copy = deidentified(ds, AnonymizationProfile(key=PROFILE.key, keep=("SeriesDescription",)))
    assert written not in read(copy).SeriesDescription
    assert not findings(original, copy, kept=("SeriesDescription",), validate=False)


def test_a_date_in_a_private_code_meaning_is_shifted() -> None:
    ds = ct_image()
    ds.ProcedureCodeSequence = Sequence([code("LSCR24", "99WENCESLAS", "Lung screening 2024-03-12")])
    original, copy = deidentified(ds)
    assert not findings(original, copy, validate=False)


def test_a_private_coding_scheme_name_does_not_name_the_institution() -> None:
    ds = ct_image()
    scheme = Dataset()
    scheme.CodingSchemeDesignator = "99WENCESLAS"
    scheme.CodingSchemeName = ds.InstitutionName
    scheme.CodingSchemeResponsibleOrganization = ds.InstitutionName
    ds.CodingSchemeIdentificationSequence = Sequence([scheme])
    ds.ProcedureCodeSequence = Sequence([code("CTCH", "99WENCESLAS", "CT chest")])
    original, copy = deidentified(ds)
    assert not findings(original, copy, validate=False)


@pytest.mark.parametrize(("keyword", "value"), [
    ("PlacerOrderNumberImagingServiceRequest", "ORD-5521987"),
    ("FillerOrderNumberImagingServiceRequest", "FO-88123"),
    ("PerformedStationName", "CTWESTROOM7"),
    ("ScheduledProcedureStepLocation", "RADWINGC"),
    ("PerformedStationAETitle", "CTWESTAE7"),
    ("ResponsibleOrganization", "Fjord Kennel Club"),
])
def test_an_annex_e_identifier_in_kept_text_is_hunted(keyword: str, value: str) -> None:
    assert not in_kept_text("StudyDescription", f"CT THORAX {value}", **{keyword: value})


def test_half_of_a_hyphenated_name_in_kept_text_is_hunted() -> None:
    ds = ct_image(HARALDSEN)
    ds.SeriesDescription = "Haraldsen knee"
    profile = AnonymizationProfile(key=PROFILE.key, keep=("SeriesDescription",))
    _, copy = deidentified(ds, profile)
    assert "HARALDSEN" not in read(copy).SeriesDescription.upper()


def test_the_preamble_is_not_copied() -> None:
    ds = ct_image()
    ds.preamble = b"KOWALCZYK^BRUNHILDE MRN-77123 ACC-redteam-ct".ljust(128, b"\0")
    _, copy = deidentified(ds)
    assert b"KOWALCZYK" not in copy[:128] and b"MRN-77123" not in copy[:128]


def test_keeping_a_sequence_still_cleans_its_items() -> None:
    ds = ct_image()
    procedure = code("CTCH", "99WENCESLAS", "CT chest")
    block = procedure.private_block(0x0009, "ACME RIS 1.0", create=True)
    block.add_new(0x01, "LO", "Kowalczyk MRN-77123")
    procedure.StudyDate, procedure.PatientName = "20240312", "Kowalczyk^Brunhilde"
    ds.ProcedureCodeSequence = Sequence([procedure])
    profile = AnonymizationProfile(key=PROFILE.key, keep=("ProcedureCodeSequence",))
    original, copy = deidentified(ds, profile)
    assert not findings(original, copy, validate=False)


def test_a_jpeg_comment_naming_the_patient_does_not_leave() -> None:
    """The pixels are never altered, so a frame carrying a comment is withheld, naming what it carries."""
    ds = jpeg_ct(comment=b"Kowalczyk^Brunhilde MRN-77123")
    with pytest.raises(CannotDeidentify, match=r"PixelData: a JPEG comment \(COM\)") as withheld:
        deidentified(ds)
    assert "Kowalczyk" not in str(withheld.value) and "MRN-77123" not in str(withheld.value)


def test_a_private_concept_with_a_device_code_value_is_not_kept() -> None:
    sr = make_planted_dose_sr(accession_number="ACC-RT-2").dataset
    note = text_item(Code("113832", "99ACME", "Clinical history"), "known HIV, partner attends with her")
    sr.ContentSequence = Sequence([*sr.ContentSequence, container(Code("ACME01", "99ACME", "History"), [note])])
    _, copy = deidentified(sr)
    texts = [e.value for e in read(copy).iterall() if e.keyword == "TextValue"]
    assert "known HIV, partner attends with her" not in texts


def test_retrieval_sequences_do_not_keep_empty_items() -> None:
    from tests.support.deid_corpus_objects import kos

    ds = kos(1)
    series = ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    dicom, wado, wado_rs = Dataset(), Dataset(), Dataset()
    dicom.RetrieveAETitle = "PACSWEST"
    wado.RetrieveURI = "https://pacs-west.wenceslas-infirmary.example/wado?requestType=WADO"
    wado_rs.RetrieveURL = "https://pacs-west.wenceslas-infirmary.example/dicom-web/studies"
    series.DICOMRetrievalSequence = Sequence([dicom])
    series.WADORetrievalSequence = Sequence([wado])
    series.WADORSRetrievalSequence = Sequence([wado_rs])
    original, copy = deidentified(ds)
    assert not findings(original, copy)  # clean, and dciodvfy finds nothing new ...
    kept = read(copy).CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    empty = [keyword for keyword in ("DICOMRetrievalSequence", "WADORetrievalSequence", "WADORSRetrievalSequence")
             if any(len(item) == 0 for item in kept.get(keyword) or [])]
    assert not empty, f"items without their Type 1 attribute: {empty}"  # ... yet these items are invalid


# --- findings: what crashes or fails ---------------------------------------------------------


def _siemens_private_in_implicit_vr() -> bytes:
    """An implicit VR file whose Siemens private SlicePosition_PCS holds 3 floats.

    pydicom's private dictionary says FD."""
    ds = ct_image(key="redteam-wrong-length-private")
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.private_block(0x0019, "SIEMENS MR HEADER", create=True).add_new(0x15, "OB", bytes(12))
    return to_bytes(ds, implicit_vr=True, little_endian=True)


@pytest.mark.parametrize("build", [
    pytest.param(lambda: with_element_bytes(ct_image(), "SliceLocation", "FD", b"\x00\x00\xc8\x42", 1.0),
                 id="FD-as-FL"),
    pytest.param(lambda: with_element_bytes(ct_image(), "Rows", "US", b"\x10\x00\x00", 16), id="US-3-bytes"),
    pytest.param(lambda: with_element_bytes(ct_image(), "ReferencePixelX0", "SL", b"\x00\x00", 1), id="SL-2-bytes"),
    pytest.param(_siemens_private_in_implicit_vr, id="private-implicit"),
])
def test_a_number_of_the_wrong_length_does_not_fail_the_instance(build) -> None:
    original = build()
    copy = PROFILE.deidentify(original)
    assert not findings(original, copy, validate=False)


def test_the_copy_gets_the_pseudonym_the_planner_expects_for_a_backslash_patient_id() -> None:
    ds = ct_image(key="redteam-backslash")
    original = with_element_bytes(ds, "PatientID", "LO", b"MRN\\77123 ", "X")
    tags = {"PatientID": "MRN\\77123", "IssuerOfPatientID": ds.IssuerOfPatientID,  # as Orthanc's simplified tags
            "StudyInstanceUID": ds.StudyInstanceUID, "SeriesInstanceUID": ds.SeriesInstanceUID,
            "SOPInstanceUID": ds.SOPInstanceUID}
    copy = read(PROFILE.deidentify(original))
    assert copy.PatientID == PROFILE.pseudonym(Identity.from_tags(tags).patient_key)


# --- findings: the gate ----------------------------------------------------------------------


@pytest.mark.parametrize("image_type", ["DERIVED\\SECONDARY\\SCREEN SAVE", "DERIVED\\SECONDARY\\OTHER"])
def test_a_screen_save_in_a_ct_class_is_withheld(image_type: str) -> None:
    tags = {"SOPClassUID": CT, "Modality": "CT", "ImageType": image_type, "SeriesDescription": "Dose Report"}
    assert withheld_reason(tags) is not None


@pytest.mark.parametrize("sop_class", [VL_PHOTO, VIDEO_PHOTO])
def test_a_photograph_without_recognizable_visual_features_no_is_withheld(sop_class: str) -> None:
    assert withheld_reason({"SOPClassUID": sop_class, "BurnedInAnnotation": "NO"}) is not None


# --- findings: the auditors ------------------------------------------------------------------


@needs_dciodvfy
def test_the_validator_reads_deflated_files() -> None:
    ds = ct_image()
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    assert not [e for e in iod_validator.errors(to_bytes(ds)) if "read failed" in e]
