"""An outside audit of the de-identifier: vendor-style files with PHI planted where real files hide it.

Why: the corpus (tests/integration/deid/test_corpus.py) was written with the de-identifier and passes; this
module is the red team's. Each instance is built here with pydicom the way vendors write them,
de-identified with ``AnonymizationProfile.deidentify`` (and the gate's ``withheld_reason``), and
judged by the project's three auditors (the walk, dicognito, dciodvfy) or, where none of them can
see the leak (a preamble, a JPEG comment, an exact age), by a direct check.

The "findings" sections are what the red team found leaking, crashing or invalid before the
profile was mended (each failed then); the others are what was tried and already held. All of
them guard against regressions now.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.sr.coding import Code
from pydicom.tag import Tag
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
)

from copydicom_provider.deid import AnonymizationProfile, CannotDeidentify, Identity, withheld_reason
from copydicom_provider.testing.dose_sr import container, datetime_item, text_item, uid_item
from tests.support.phi_cases import make_planted_dose_sr
from tests.support import iod_validator
from tests.support.deid_corpus_base import (
    KOWALCZYK,
    ODEGARD,
    YAMADA,
    Patient,
    base,
    code,
    gradient,
    image_plane,
    set_ct_pixels,
    uid,
)
from tests.support.outside_audit import second_opinion
from tests.support.phi_audit import audit, original_identifiers

PROFILE = AnonymizationProfile(key="redteam-key-51e7")
CT = "1.2.840.10008.5.1.4.1.1.2"
MG = "1.2.840.10008.5.1.4.1.1.1.2"
VL_PHOTO = "1.2.840.10008.5.1.4.1.1.77.1.4"
VIDEO_PHOTO = "1.2.840.10008.5.1.4.1.1.77.1.4.1"
ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"
PDF = "1.2.840.10008.5.1.4.1.1.104.1"
#: A hyphenated family name: people (and free text) use either half alone.
HARALDSEN = Patient("MRN-30011", "Lindqvist-Haraldsen^Astrid", birth_name="", other_ids=())

needs_dciodvfy = pytest.mark.skipif(not iod_validator.available(), reason="dciodvfy (dicom3tools) is not installed")


# --- building and judging --------------------------------------------------------------------


def ct_image(patient: Patient = KOWALCZYK, key: str = "redteam-ct") -> Dataset:
    """A CT image with the corpus's planted patient, study, physicians, equipment and institution."""
    ds = base(CT, "CT", patient, key=key, marker=1)
    image_plane(ds, uid(key, "frame-of-reference"))
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.RescaleIntercept, ds.RescaleSlope, ds.KVP, ds.AcquisitionNumber = -1024, 1, 120, 1
    ds.PatientOrientation = ""
    ds.ContentDate, ds.ContentTime = "20240312", "094500"
    set_ct_pixels(ds, gradient(16, 16))
    return ds


def to_bytes(ds: Dataset, **encoding: bool) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True, **encoding)
    return buffer.getvalue()


def read(data: bytes) -> Dataset:
    return pydicom.dcmread(io.BytesIO(data))


def raw(ds: Dataset, keyword: str, vr: str, value: bytes) -> None:
    """An element with exactly these value bytes, as a vendor wrote them (pydicom would refuse to set them)."""
    tag = Tag(keyword)
    value += b" " * (len(value) % 2)
    ds._dict[tag] = RawDataElement(tag, vr, len(value), value, 0, False, True)


def findings(original: bytes, copy: bytes, *, kept: Iterable[str] = (), validate: bool = True) -> list[str]:
    """What the three auditors find in ``copy``; ``kept``: attributes the caller kept, whose own value is no finding."""
    before, after = read(original), read(copy)
    found = [f"walk: {f}" for f in audit(after, original_identifiers(before))]
    found += [f"dicognito: {f}" for f in second_opinion(before, after)]
    if validate and iod_validator.available():
        found += [f"dciodvfy: {e}" for e in iod_validator.new_errors(original, copy)]
    own = [f"original {keyword} value" for keyword in kept]
    return [f for f in found if not any(marker in f for marker in own)]


def deidentified(ds: Dataset, profile: AnonymizationProfile = PROFILE, **encoding: bool) -> tuple[bytes, bytes]:
    original = to_bytes(ds, **encoding)
    return original, profile.deidentify(original)


def in_kept_text(keyword: str, text: str, patient: Patient = KOWALCZYK, **attributes: str) -> list[str]:
    """The auditors' findings when ``text`` is typed into ``keyword`` and the caller keeps it (``keep``)."""
    ds = ct_image(patient)
    for name, value in {**attributes, keyword: text}.items():
        setattr(ds, name, value)
    original, copy = deidentified(ds, AnonymizationProfile(key=PROFILE.key, keep=(keyword,)))
    return findings(original, copy, kept=(keyword,), validate=False)


# --- findings: what still leaks --------------------------------------------------------------


def test_birth_date_is_emptied_not_shifted() -> None:
    """No auditor sees it (the shifted date differs from the original), yet the age to the day goes out."""
    ds = ct_image()
    ds.PatientBirthTime = "061500"  # Annex E X; kept too, as every TM is, before the table is asked
    original, copy = deidentified(ds)
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
    ds = _jpeg_ct(comment=b"Kowalczyk^Brunhilde MRN-77123")
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


def _with_element_bytes(ds: Dataset, keyword: str, vr: str, value: bytes, placeholder: object) -> bytes:
    """``ds`` as a file whose ``keyword`` element carries exactly ``value`` (explicit VR little endian, short VR)."""
    tag = Tag(keyword)
    ds[tag] = pydicom.DataElement(tag, vr, placeholder)
    data = to_bytes(ds)
    head = tag.group.to_bytes(2, "little") + tag.element.to_bytes(2, "little") + vr.encode()
    at = data.index(head, 132)
    length = int.from_bytes(data[at + 6:at + 8], "little")
    return data[:at] + head + len(value).to_bytes(2, "little") + value + data[at + 8 + length:]


def _siemens_private_in_implicit_vr() -> bytes:
    """An implicit VR file whose Siemens private SlicePosition_PCS holds 3 floats; pydicom's private dictionary says FD."""
    ds = ct_image(key="redteam-wrong-length-private")
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.private_block(0x0019, "SIEMENS MR HEADER", create=True).add_new(0x15, "OB", bytes(12))
    return to_bytes(ds, implicit_vr=True, little_endian=True)


@pytest.mark.parametrize("build", [
    pytest.param(lambda: _with_element_bytes(ct_image(), "SliceLocation", "FD", b"\x00\x00\xc8\x42", 1.0),
                 id="FD-as-FL"),
    pytest.param(lambda: _with_element_bytes(ct_image(), "Rows", "US", b"\x10\x00\x00", 16), id="US-3-bytes"),
    pytest.param(lambda: _with_element_bytes(ct_image(), "ReferencePixelX0", "SL", b"\x00\x00", 1), id="SL-2-bytes"),
    pytest.param(_siemens_private_in_implicit_vr, id="private-implicit"),
])
def test_a_number_of_the_wrong_length_does_not_fail_the_instance(build) -> None:
    original = build()
    copy = PROFILE.deidentify(original)
    assert not findings(original, copy, validate=False)


def test_the_copy_gets_the_pseudonym_the_planner_expects_for_a_backslash_patient_id() -> None:
    ds = ct_image(key="redteam-backslash")
    original = _with_element_bytes(ds, "PatientID", "LO", b"MRN\\77123 ", "X")
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


# --- what holds: transfer syntaxes and pixels ------------------------------------------------


def _jpeg_ct(comment: bytes | None = None) -> Dataset:
    """A CT with one fake baseline JPEG fragment (SOI, optional COM, a DQT stub, EOI)."""
    ds = ct_image(key="redteam-jpeg")
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    com = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment if comment else b""
    ds.PixelData = encapsulate([b"\xff\xd8" + com + b"\xff\xdb\x00\x43" + bytes(65) + b"\xff\xd9"])
    ds["PixelData"].VR, ds["PixelData"].is_undefined_length = "OB", True
    ds.LossyImageCompression = "01"
    return ds


@pytest.mark.parametrize(("syntax", "encoding"), [
    (ImplicitVRLittleEndian, {"implicit_vr": True, "little_endian": True}),
    (ExplicitVRBigEndian, {"implicit_vr": False, "little_endian": False}),
    (DeflatedExplicitVRLittleEndian, {}),
    (JPEGBaseline8Bit, {}),
])
def test_each_transfer_syntax_comes_out_clean_in_the_same_syntax_with_identical_pixels(syntax: str,
                                                                                       encoding: dict) -> None:
    """Implicit, big endian, deflated and encapsulated files: no residual, same syntax, pixel bytes unchanged."""
    ds = _jpeg_ct() if syntax == JPEGBaseline8Bit else ct_image(key=f"redteam-{syntax}")
    ds.file_meta.TransferSyntaxUID = syntax
    original, copy = deidentified(ds, **encoding)
    readable = syntax != DeflatedExplicitVRLittleEndian  # dciodvfy cannot read deflated (finding above)
    assert not findings(original, copy, validate=readable)
    assert read(copy).file_meta.TransferSyntaxUID == syntax
    assert read(copy).PixelData == read(original).PixelData


def test_group_lengths_and_a_private_sequence_in_implicit_vr_are_removed() -> None:
    """A GE-style private sequence (read back as UN or SQ) holding public name, ID and date goes whole."""
    ds = ct_image(key="redteam-implicit-private")
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    inner = Dataset()
    inner.PatientName, inner.PatientID, inner.StudyDate = KOWALCZYK.name, KOWALCZYK.patient_id, "20240312"
    ds.private_block(0x0019, "GEMS_ACQU_01", create=True).add_new(0x10, "SQ", Sequence([inner]))
    ds.add_new(0x00080000, "UL", 0)
    ds.add_new(0x00100000, "UL", 0)
    original, copy = deidentified(ds, implicit_vr=True, little_endian=True)
    assert not findings(original, copy)
    assert not [e for e in read(copy) if e.tag.is_private or e.tag.element == 0]


def test_a_decimal_comma_in_a_ds_does_not_fail_the_instance() -> None:
    """European consoles write '1,25': pydicom cannot read it as a number, the instance must still go out."""
    ds = ct_image(key="redteam-decimal-comma")
    raw(ds, "SliceThickness", "DS", b"1,25")
    original, copy = deidentified(ds)
    assert not findings(original, copy, validate=False)


# --- what holds: where vendors hide text -----------------------------------------------------


def test_retired_groups_and_free_text_carriers_are_cleaned() -> None:
    """Study (0032), visit (0038), results (4008) groups, insurance plan, and every free-text hiding place."""
    ds = ct_image(key="redteam-free-text")
    ds.InsurancePlanIdentification = "AOK-KOWALCZYK-77123"
    ds.add_new(0x00321032, "PN", "Fairweather^Ignatius")  # RequestingPhysician
    ds.add_new(0x00320032, "DA", "20240311")  # StudyVerifiedDate (retired)
    ds.add_new(0x00324000, "LT", "Study comment Kowalczyk MRN-77123")
    ds.add_new(0x00380010, "LO", "ADM-5521")  # AdmissionID
    ds.add_new(0x00380020, "DA", "20240310")  # AdmittingDate
    ds.add_new(0x00380300, "LO", "Ward 7 bed 3")  # CurrentPatientLocation
    ds.add_new(0x00384000, "LT", "Visit of Kowalczyk")
    ds.add_new(0x40080040, "SH", "RES-77123")  # ResultsID (retired)
    ds.add_new(0x40080100, "DA", "20240313")  # InterpretationRecordedDate
    ds.add_new(0x4008010C, "PN", "Vanterpool^Augustin")  # InterpretationAuthor
    ds.add_new(0x40080300, "ST", "Impression for Kowalczyk")
    ds.add_new(0x40084000, "ST", "Results comment 2024-03-13")
    ds.ImageComments = (f"Pt Kowalczyk MRN-77123 https://pacs-west.wenceslas-infirmary.example/viewer?"
                        f"study={ds.StudyInstanceUID}")
    ds.AcquisitionDeviceProcessingDescription = "Kowalczyk hand"
    ds.DerivationDescription = f"derived from {ds.SOPInstanceUID}"
    ds.ProtocolName = "THORAX MRN-77123"
    ds.SeriesDescription = "Kowalczyk"
    ds.StationAETitle = "CTWEST7"
    ds.NameOfPhysiciansReadingStudy = ["Vanterpool^Augustin", "Marchetti^Ottavia"]
    ds.add_new(0x00181012, "DA", "2024.03.12")  # DateOfSecondaryCapture, ACR-NEMA dotted form
    ds.AcquisitionDateTime = "202403"  # a partial DT
    original, copy = deidentified(ds)
    assert not findings(original, copy, validate=False)  # retired attributes are no part of the CT IOD


def test_three_component_group_names_in_iso_2022_come_out_clean_and_valid() -> None:
    """Alphabetic=ideographic=phonetic PN, multi-valued, with code extensions (ISO 2022 IR 87)."""
    ds = ct_image(YAMADA, key="redteam-yamada")
    ds.NameOfPhysiciansReadingStudy = ["Yamada^Hanako=山田^花子=やまだ^はなこ", "Vanterpool^Augustin"]
    original, copy = deidentified(ds)
    assert not findings(original, copy)


def test_a_dose_report_with_a_private_template_comes_out_clean_and_valid() -> None:
    """Irradiation start DATETIME, device UIDREF, TEXT and PNAME under nested containers of a private template."""
    sr = make_planted_dose_sr(accession_number="ACC-RT-1").dataset
    start = datetime_item(Code("113809", "DCM", "Start of X-Ray Irradiation"), datetime(2024, 3, 14, 9, 41, 7))
    device = uid_item(Code("121012", "DCM", "Device Observer UID"), uid("redteam-device"))
    note = text_item(Code("NOTE1", "99ACME", "Technologist note"), "Kowalczyk moved, repeat 14/03/2024")
    model = text_item(Code("121015", "DCM", "Device Observer Model Name"), "Scanomatic 64 for Kowalczyk")
    vendor = container(Code("ACME01", "99ACME", "ACME dose extension"),
                       [container(Code("ACME02", "99ACME", "ACME event"), [start, device, note, model])],
                       template="ACME_9001")
    sr.ContentSequence = Sequence([*sr.ContentSequence, vendor])
    original, copy = deidentified(sr)
    assert not findings(original, copy)


# --- what holds: the gate --------------------------------------------------------------------


@pytest.mark.parametrize(("tags", "sent"), [
    ({"SOPClassUID": MG}, False),  # mammography without the attribute
    ({"SOPClassUID": MG, "BurnedInAnnotation": "NO"}, True),
    ({"SOPClassUID": MG, "BurnedInAnnotation": "NO", "RecognizableVisualFeatures": "YES"}, False),
    ({"SOPClassUID": ECG}, False),  # waveforms are not on the allow-list
    ({"SOPClassUID": CT, "BurnedInAnnotation": "YES"}, False),
    ({"SOPClassUID": CT + "\0"}, False),  # a padded class is unknown: withheld, never guessed
])
def test_the_gate_sends_only_what_is_known_to_be_clean(tags: dict[str, str], sent: bool) -> None:
    assert (withheld_reason(tags) is None) is sent


def test_an_encapsulated_pdf_is_withheld_even_when_burned_in_text_is_allowed() -> None:
    assert withheld_reason({"SOPClassUID": PDF, "BurnedInAnnotation": "NO"}, allow_burned_in=True)


def test_dates_stay_apart_by_the_same_shift_for_one_patient() -> None:
    """The longitudinal option: two exams of one patient keep their interval, whatever the instance."""
    first, second = ct_image(key="redteam-first"), ct_image(key="redteam-second")
    second.StudyDate = "20240412"
    a, b = (read(deidentified(ds)[1]) for ds in (first, second))
    interval = date.fromisoformat(b.StudyDate[:4] + "-" + b.StudyDate[4:6] + "-" + b.StudyDate[6:])
    interval -= date.fromisoformat(a.StudyDate[:4] + "-" + a.StudyDate[4:6] + "-" + a.StudyDate[6:])
    assert interval.days == 31 and a.StudyDate != first.StudyDate


# --- what holds: other objects stay valid and clean ------------------------------------------


def _rt_plan() -> Dataset:
    """An approved RT Plan: label, name and beam named after the patient, review date and reviewer."""
    ds = base("1.2.840.10008.5.1.4.1.1.481.5", "RTPLAN", KOWALCZYK, key="redteam-rtplan", marker=1)
    ds.RTPlanLabel, ds.RTPlanName, ds.RTPlanGeometry = "KOWALCZYK PLAN", "Kowalczyk prostate", "PATIENT"
    ds.RTPlanDate, ds.RTPlanTime, ds.PlanIntent = "20240312", "101500", "CURATIVE"
    ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = uid("redteam-rtplan", "for"), ""
    ds.ApprovalStatus, ds.ReviewDate, ds.ReviewTime = "APPROVED", "20240313", "120000"
    ds.ReviewerName = "Vanterpool^Augustin"
    structure = Dataset()
    structure.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
    structure.ReferencedSOPInstanceUID = uid("redteam-rtstruct", "sop")
    ds.ReferencedStructureSetSequence = Sequence([structure])
    beam_reference = Dataset()
    beam_reference.ReferencedBeamNumber, beam_reference.BeamMeterset = 1, 100.0
    fraction = Dataset()
    fraction.FractionGroupNumber, fraction.NumberOfFractionsPlanned = 1, 20
    fraction.NumberOfBeams, fraction.NumberOfBrachyApplicationSetups = 1, 0
    fraction.ReferencedBeamSequence = Sequence([beam_reference])
    ds.FractionGroupSequence = Sequence([fraction])
    beam = Dataset()
    beam.BeamNumber, beam.BeamName, beam.BeamType, beam.RadiationType = 1, "AP Kowalczyk", "STATIC", "PHOTON"
    beam.TreatmentMachineName, beam.PrimaryDosimeterUnit, beam.SourceAxisDistance = "LINAC-WEST-2", "MU", 1000.0
    beam.TreatmentDeliveryType, beam.FinalCumulativeMetersetWeight, beam.NumberOfControlPoints = "TREATMENT", 1.0, 2
    beam.NumberOfWedges = beam.NumberOfCompensators = beam.NumberOfBoli = beam.NumberOfBlocks = 0
    jaws = Dataset()
    jaws.RTBeamLimitingDeviceType, jaws.NumberOfLeafJawPairs = "ASYMX", 1
    beam.BeamLimitingDeviceSequence = Sequence([jaws])
    first, last = Dataset(), Dataset()
    first.ControlPointIndex, first.CumulativeMetersetWeight, first.NominalBeamEnergy = 0, 0.0, 6.0
    first.GantryAngle = first.BeamLimitingDeviceAngle = first.PatientSupportAngle = first.TableTopEccentricAngle = 0.0
    first.GantryRotationDirection = first.BeamLimitingDeviceRotationDirection = "NONE"
    first.PatientSupportRotationDirection = first.TableTopEccentricRotationDirection = "NONE"
    first.IsocenterPosition = [0, 0, 0]
    first.TableTopVerticalPosition = first.TableTopLongitudinalPosition = first.TableTopLateralPosition = 0
    position = Dataset()
    position.RTBeamLimitingDeviceType, position.LeafJawPositions = "ASYMX", [-50, 50]
    first.BeamLimitingDevicePositionSequence = Sequence([position])
    last.ControlPointIndex, last.CumulativeMetersetWeight = 1, 1.0
    beam.ControlPointSequence = Sequence([first, last])
    ds.BeamSequence = Sequence([beam])
    setup = Dataset()
    setup.PatientSetupNumber, setup.PatientPosition = 1, "HFS"
    ds.PatientSetupSequence = Sequence([setup])
    return ds


def _projection(sop_class: str, modality: str) -> Dataset:
    """A DX or MG for presentation with Burned In Annotation NO, a detector ID and a TEXT acquisition context."""
    ds = base(sop_class, modality, KOWALCZYK, key=f"redteam-{modality}", marker=1)
    ds.BurnedInAnnotation, ds.ImageType, ds.PresentationIntentType = "NO", ["ORIGINAL", "PRIMARY"], "FOR PRESENTATION"
    ds.ContentDate, ds.ContentTime, ds.AcquisitionDateTime = "20240312", "094500", "20240312094500"
    ds.DetectorType, ds.DetectorID, ds.ImagerPixelSpacing = "DIRECT", "DET-WEST-7", [0.1, 0.1]
    ds.PixelIntensityRelationship, ds.PixelIntensityRelationshipSign = "LOG", 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.WindowCenter, ds.WindowWidth, ds.LossyImageCompression = 128, 256, "00"
    ds.AcquisitionDeviceProcessingDescription = "PA Kowalczyk"
    context = Dataset()
    context.ValueType, context.TextValue = "TEXT", "palpable lump, Kowalczyk"
    context.ConceptNameCodeSequence = Sequence([code("121106", "DCM", "Comment")])
    ds.AcquisitionContextSequence = Sequence([context])
    if modality == "MG":
        ds.PatientOrientation, ds.ImageLaterality, ds.Laterality = ["A", "R"], "R", "R"
        ds.BodyPartExamined, ds.PositionerType, ds.BreastImplantPresent = "BREAST", "MAMMOGRAPHIC", "NO"
        ds.ViewCodeSequence = Sequence([code("R-10242", "SRT", "cranio-caudal")])
        ds.AnatomicRegionSequence = Sequence([code("T-04000", "SRT", "Breast")])
    else:
        ds.PatientOrientation, ds.BodyPartExamined, ds.ViewPosition, ds.Laterality = ["L", "F"], "CHEST", "PA", ""
    ds.Rows = ds.Columns = 16
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = bytes(range(256))
    return ds


def _ecg() -> Dataset:
    """A two-lead ECG with a free-text annotation naming patient, reader and date."""
    ds = base(ECG, "ECG", KOWALCZYK, key="redteam-ecg", marker=1)
    ds.ContentDate, ds.ContentTime, ds.AcquisitionDateTime = "20240312", "094500", "20240312094500"
    ds.AcquisitionContextSequence = Sequence([])
    group = Dataset()
    group.MultiplexGroupTimeOffset, group.WaveformOriginality, group.MultiplexGroupLabel = 0.0, "ORIGINAL", "RHYTHM"
    group.NumberOfWaveformChannels, group.NumberOfWaveformSamples, group.SamplingFrequency = 2, 10, 500.0
    channels = []
    for number, (value, meaning) in enumerate([("5.6.3-9-1", "Lead I"), ("5.6.3-9-2", "Lead II")], start=1):
        channel = Dataset()
        channel.WaveformChannelNumber, channel.ChannelLabel, channel.ChannelStatus = number, f"CH{number}", "OK"
        source = code(value, "SCPECG", meaning)
        source.CodingSchemeVersion = "1.3"
        channel.ChannelSourceSequence = Sequence([source])
        channel.ChannelSensitivity, channel.ChannelSensitivityCorrectionFactor = 1.0, 1.0
        channel.ChannelSensitivityUnitsSequence = Sequence([code("uV", "UCUM", "microvolt")])
        channel.ChannelBaseline, channel.ChannelSampleSkew, channel.WaveformBitsStored = 0.0, 0.0, 16
        channels.append(channel)
    group.ChannelDefinitionSequence = Sequence(channels)
    group.WaveformBitsAllocated, group.WaveformSampleInterpretation = 16, "SS"
    group.WaveformData = bytes(range(40))
    ds.WaveformSequence = Sequence([group])
    note = Dataset()
    note.UnformattedTextValue = "Kowalczyk: sinus rhythm, read by Dr Vanterpool 12/03/2024"
    note.ReferencedWaveformChannels = [1, 1]
    ds.WaveformAnnotationSequence = Sequence([note])
    return ds


@needs_dciodvfy
@pytest.mark.parametrize(("build", "profile"), [
    pytest.param(_rt_plan, PROFILE, id="rt-plan"),
    pytest.param(lambda: _projection(MG, "MG"), PROFILE, id="mammography"),
    pytest.param(lambda: _projection("1.2.840.10008.5.1.4.1.1.1", "DX"), PROFILE, id="dx"),
    pytest.param(_ecg, AnonymizationProfile(key=PROFILE.key, allow_burned_in=True), id="ecg-allowed"),
])
def test_rt_projection_and_waveform_objects_come_out_clean_and_valid(build, profile: AnonymizationProfile) -> None:
    ds = build()
    original, copy = deidentified(ds, profile)
    assert not findings(original, copy)
    if "WaveformSequence" in ds:
        assert read(copy).WaveformSequence[0].WaveformData == ds.WaveformSequence[0].WaveformData
    else:
        assert read(copy).get("PixelData") == read(original).get("PixelData")


def test_hidden_carriers_of_old_values_are_removed() -> None:
    """Trailing padding (old header bytes), original attributes, signatures and icon: none may go out."""
    ds = ct_image(key="redteam-hidden")
    ds.add_new(0xFFFCFFFC, "OB", b"Kowalczyk^Brunhilde MRN-77123 ")
    old = Dataset()
    old.PatientName, old.PatientID = KOWALCZYK.name, KOWALCZYK.patient_id
    modified = Dataset()
    modified.ModifiedAttributesSequence = Sequence([old])
    modified.AttributeModificationDateTime, modified.ModifyingSystem = "20240312101500", "PACS-WEST"
    modified.ReasonForTheAttributeModification, modified.SourceOfPreviousValues = "CORRECT", "RIS"
    ds.OriginalAttributesSequence = Sequence([modified])
    icon = Dataset()
    icon.Rows = icon.Columns = 4
    icon.SamplesPerPixel, icon.PhotometricInterpretation = 1, "MONOCHROME2"
    icon.BitsAllocated, icon.BitsStored, icon.HighBit, icon.PixelRepresentation = 8, 8, 7, 0
    icon.PixelData = b"Kowalczyk MRN-77"
    ds.IconImageSequence = Sequence([icon])
    original, copy = deidentified(ds)
    out = read(copy)
    assert not findings(original, copy, validate=False)
    assert not {"DataSetTrailingPadding", "OriginalAttributesSequence", "IconImageSequence"} & set(out.dir())
    assert b"Kowalczyk" not in copy


def test_an_encapsulated_document_nested_in_an_image_is_withheld() -> None:
    """A PDF the SOP class did not announce, inside an item: the walker refuses the instance (withheld)."""
    from copydicom_provider.deid import CannotDeidentify

    ds = ct_image(key="redteam-nested-pdf")
    item = Dataset()
    item.MIMETypeOfEncapsulatedDocument, item.EncapsulatedDocument = "application/pdf", b"%PDF-1.4 Kowalczyk"
    ds.ReferencedImageSequence = Sequence([item])
    with pytest.raises(CannotDeidentify):
        PROFILE.deidentify(to_bytes(ds))


def test_a_date_written_into_a_time_is_replaced() -> None:
    """TM is kept as a time of day; a vendor's date-time in it (no auditor hunts TM) must not survive."""
    ds = ct_image(key="redteam-time")
    raw(ds, "StudyTime", "TM", b"20240312094107")
    raw(ds, "SeriesTime", "TM", b"094107.20240312")
    out = read(deidentified(ds)[1])
    assert "20240312" not in str(out.StudyTime) and "20240312" not in str(out.SeriesTime)


# --- through real Orthanc: the worker's own path (source file, de-identified, uploaded, planned ID) ----------


def _through_orthanc(source, destination, data: bytes) -> bytes:
    """Store ``data`` on the source, send it as conditional replicate's worker does, return the research copy.

    ``send_instance`` raises when the copy lands under another ID than the planner computed from
    Orthanc's simplified tags (what a rerun looks for).
    """
    import requests

    from copydicom_provider.copy.transfer import send_instance
    from copydicom_provider.hooks.orthanc import OrthancHook
    from tests.support.fixtures_orthanc import instance_bytes

    reply = requests.post(f"{source.url}/instances", data=data, auth=source.auth, timeout=60)
    reply.raise_for_status()
    instance_id = reply.json()["ID"]
    source_hook, research_hook = OrthancHook.from_url(source.url_with_credentials), OrthancHook.from_url(
        destination.url_with_credentials)
    tags = source_hook.simplified_tags(instance_id)
    assert PROFILE.withheld_reason(tags) is None
    target = PROFILE.target_id(Identity.from_tags(tags))
    send_instance(source_hook, research_hook, instance_id, anonymize=PROFILE, expected_id=target)
    return instance_bytes(destination, target)


def test_the_preamble_does_not_reach_the_research_store(source, destination) -> None:
    ds = ct_image(key="redteam-orthanc-preamble")
    ds.preamble = b"KOWALCZYK^BRUNHILDE MRN-77123".ljust(128, b"\0")
    copy = _through_orthanc(source, destination, to_bytes(ds))
    assert b"MRN-77123" not in copy[:128]


def test_a_backslash_patient_id_is_copied_under_the_planned_id(source, destination) -> None:
    original = _with_element_bytes(ct_image(key="redteam-orthanc-backslash"), "PatientID", "LO", b"MRN\\77123 ", "X")
    copy = read(_through_orthanc(source, destination, original))
    assert copy.PatientID.startswith("ANON-")
