"""The de-identifier's rules on datasets built here: every UID, every free text, valid objects, odd values.

Unit tests of :mod:`copydicom_provider.deid` (no server): the end-to-end audits through real
Orthanc servers are tests/integration/deid/test_deidentification.py and the corpus audit.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from copydicom_provider.deid import AnonymizationProfile, CannotDeidentify, Identity, withheld_reason
from copydicom_provider.deid.dates import shift_in_text, shift_value
from copydicom_provider.deid.walker import deidentify_file

KEY = "walker-key-9c2f"
CT = "1.2.840.10008.5.1.4.1.1.2"
US = "1.2.840.10008.5.1.4.1.1.6.1"
GSPS = "1.2.840.10008.5.1.4.1.1.11.1"
PDF = "1.2.840.10008.5.1.4.1.1.104.1"


def item(**attributes: object) -> Dataset:
    dataset = Dataset()
    for keyword, value in attributes.items():
        setattr(dataset, keyword, value)
    return dataset


def instance(sop_class: str = CT, **attributes: object) -> Dataset:
    defaults = {"SOPClassUID": sop_class, "SOPInstanceUID": generate_uid(), "StudyInstanceUID": generate_uid(),
                    "SeriesInstanceUID": generate_uid(), "PatientID": "MRN-4411", "PatientName": "Müller^Jo",
                    "StudyDate": "20240312", "Modality": "CT"}
    dataset = item(**{**defaults, **attributes})
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return dataset


def roundtrip(dataset: Dataset, profile: AnonymizationProfile | None = None, notes: list[str] | None = None) -> Dataset:
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    out = deidentify_file(buffer.getvalue(), profile or AnonymizationProfile(key=KEY), notes)
    return pydicom.dcmread(io.BytesIO(out))


def test_every_uid_is_remapped_consistently_and_registry_uids_are_kept():
    profile = AnonymizationProfile(key=KEY)
    source_sop = generate_uid()
    referenced = generate_uid()
    dataset = instance(
        SOPInstanceUIDOfConcatenationSource=source_sop,
        ReferencedImageSequence=Sequence([item(ReferencedSOPClassUID=CT, ReferencedSOPInstanceUID=referenced)]),
        ConceptNameCodeSequence=Sequence([item(CodeValue="121014", CodingSchemeDesignator="DCM", CodeMeaning="x",
                                               CodingSchemeUID="1.2.840.10008.2.16.4")]),
        ReferencedSeriesSequence=Sequence([item(
            SeriesInstanceUID=generate_uid(), RetrieveURL="https://pacs.example.org/wado?studyUID=1.2.3",
            RetrieveLocationUID=generate_uid(), RetrieveAETitle="PACSAE",
        )]),
    )
    out = roundtrip(dataset, profile)
    assert out.SOPInstanceUIDOfConcatenationSource == profile.uid(source_sop)
    assert out.ReferencedImageSequence[0].ReferencedSOPInstanceUID == profile.uid(referenced)  # X/Z/U*: kept, remapped
    assert out.ReferencedImageSequence[0].ReferencedSOPClassUID == CT
    assert out.ConceptNameCodeSequence[0].CodingSchemeUID == "1.2.840.10008.2.16.4"
    series = out.ReferencedSeriesSequence[0]
    assert "RetrieveURL" not in series and "RetrieveLocationUID" not in series and "RetrieveAETitle" not in series
    assert out.SOPClassUID == CT and out.SOPInstanceUID == profile.uid(dataset.SOPInstanceUID)


def test_combined_actions_keep_type_1_and_type_2_attributes():
    dataset = instance(
        ReferencedStudySequence=Sequence([item(ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.1",
                                               ReferencedSOPInstanceUID=generate_uid())]),  # X/Z
        RequestedProcedureDescription="CT for Müller",  # X/Z
        ReferencedPerformedProcedureStepSequence=Sequence([item(ReferencedSOPInstanceUID=generate_uid(),
                                                                ReferencedSOPClassUID="1.2.840.10008.3.1.2.3.3")]),
        InstitutionName="St Elsewhere",  # X/Z/D
        VerifyingObserverSequence=Sequence([item(VerifyingObserverName="Reader^Rita", VerifyingOrganization="St E",
                                                 VerificationDateTime="20240312101500")]),  # D
    )
    out = roundtrip(dataset)
    study = out.ReferencedStudySequence[0]  # X/Z on a sequence: kept, cleaned (an empty one is invalid as Type 3)
    assert study.ReferencedSOPInstanceUID == AnonymizationProfile(key=KEY).uid(
        dataset.ReferencedStudySequence[0].ReferencedSOPInstanceUID)
    assert "RequestedProcedureDescription" in out and out.RequestedProcedureDescription == ""
    assert len(out.ReferencedPerformedProcedureStepSequence) == 1  # D: the item stays, its UID remapped
    assert out.InstitutionName == "REMOVED"
    observer = out.VerifyingObserverSequence[0]
    assert observer.VerifyingObserverName == "REMOVED" and observer.VerifyingOrganization == "REMOVED"
    assert observer.VerificationDateTime != "20240312101500" and observer.VerificationDateTime.endswith("101500")


def test_free_text_the_table_does_not_list_is_replaced_and_overlays_go_as_whole_groups():
    dataset = instance(WindowCenterWidthExplanation="Müller window", ContentDescription="for Jo Muller",
                       DocumentTitle="Report MRN-4411", SoftwareVersions="v2 Dr Who", ConvolutionKernel="B30f Muller",
                       Manufacturer="ACME", ManufacturerModelName="Scanomatic 64")
    dataset.add_new(0x60000010, "US", 2)
    dataset.add_new(0x60000022, "LO", "Jo Müller overlay")  # Overlay Description
    dataset.add_new(0x60001500, "LO", "Müller")  # Overlay Label
    dataset.add_new(0x60003000, "OW", b"\x00\x01" * 2)
    out = roundtrip(dataset)
    for keyword in ("WindowCenterWidthExplanation", "ContentDescription", "DocumentTitle", "SoftwareVersions",
                    "ConvolutionKernel"):
        assert out[keyword].value == "REMOVED", keyword
    assert not [element for element in out if element.tag.group == 0x6000]
    assert (out.Manufacturer, out.ManufacturerModelName) == ("ACME", "Scanomatic 64")


def test_kept_text_loses_identifiers_folded_and_short_and_gets_its_dates_shifted():
    profile = AnonymizationProfile(key=KEY)
    dataset = instance(Manufacturer="ACME for MULLER", ManufacturerModelName="Jo 64",
                       NameOfPhysiciansReadingStudy="Okonkwo^Adaeze", FilterType="FLAT 2024-03-12")
    out = roundtrip(dataset, profile)
    assert out.Manufacturer == "REMOVED"  # Müller, accent-free
    assert out.ManufacturerModelName == "REMOVED"  # a two-letter given name
    assert "NameOfPhysiciansReadingStudy" not in out
    shift = timedelta(days=profile.date_shift_days("MRN-4411"))
    assert out.FilterType == "FLAT " + shift_value("20240312", shift)[:4] + "-" + shift_value("20240312", shift)[4:6] \
        + "-" + shift_value("20240312", shift)[6:]


def test_identifiers_in_other_patient_ids_and_physician_names_are_hunted_in_kept_text():
    dataset = instance(
        OtherPatientIDsSequence=Sequence([item(PatientID="ALT-99812", IssuerOfPatientID="OTHERHOSP")]),
        PhysiciansOfRecord="Vandersloot^Piet", ConsultingPhysicianName="Abara^Chidi", PatientBirthName="Kowal^Ann",
        Manufacturer="ALT-99812", ManufacturerModelName="Vandersloot 3",
    )
    dataset.ContentSequence = Sequence([item(ValueType="TEXT", TextValue="Abara Kowal made it",
                                             ConceptNameCodeSequence=Sequence([item(
                                                 CodeValue="121014", CodingSchemeDesignator="DCM",
                                                 CodeMeaning="Device Manufacturer")]))])
    out = roundtrip(dataset)
    assert "OtherPatientIDsSequence" not in out and "PatientBirthName" not in out
    assert out.Manufacturer == "REMOVED" and out.ManufacturerModelName == "REMOVED"
    assert out.ContentSequence[0].TextValue == "REMOVED"


@pytest.mark.parametrize(
    "value", ["00010102", "00010101", "99991231", "2024", "20240101-20240131", "2024XX01", "20241301"]
)
def test_a_valid_or_odd_date_never_fails_the_instance(value):
    notes: list[str] = []
    dataset = instance(DateOfLastCalibration=value, AcquisitionDateTime="20240312101010.5+0100",
                       CalibrationDate=["20240101", "20240201"])
    out = roundtrip(dataset, notes=notes)
    assert out.AcquisitionDateTime.endswith("101010.5+0100") and not out.AcquisitionDateTime.startswith("20240312")
    assert len(out.CalibrationDate) == 2 and "20240101" not in out.CalibrationDate
    shift = timedelta(days=AnonymizationProfile(key=KEY).date_shift_days("MRN-4411"))
    if shift_value(value, shift) is None:
        assert out.DateOfLastCalibration == "19000101"
        assert notes == ["DateOfLastCalibration: a DA value that cannot be shifted was replaced by a dummy"]
        assert value not in " ".join(notes)
    else:
        assert out.DateOfLastCalibration != value and notes == []


def test_dates_in_text_are_shifted_when_year_first_and_removed_otherwise():
    shift = timedelta(days=10)
    assert shift_in_text("scan 2024-03-12 and 20240312", shift) == "scan 2024-03-02 and 20240302"
    assert shift_in_text("seen 12/03/2024, 3 March 2024, Mar 3, 2024", shift) == "seen [date], [date], [date]"
    assert shift_in_text("ID 99999999", shift) == "ID 99999999"  # not a date: left to the identifier hunt


def test_patients_are_told_apart_by_issuer_and_an_empty_id_is_its_own_patient_per_study():
    profile = AnonymizationProfile(key=KEY)
    first = instance(IssuerOfPatientID="HOSP-A")
    second = instance(IssuerOfPatientID="HOSP-B")
    a, b = roundtrip(first, profile), roundtrip(second, profile)
    assert a.PatientID != b.PatientID and "IssuerOfPatientID" not in a
    assert profile.date_shift_days(Identity("MRN-4411", "", "", "", "HOSP-A").patient_key) != \
        profile.date_shift_days(Identity("MRN-4411", "", "", "", "HOSP-B").patient_key)
    no_issuer = roundtrip(instance(), profile)
    assert no_issuer.PatientID == profile.pseudonym("MRN-4411")  # pseudonyms made before issuers counted hold
    empty_one, empty_two = instance(PatientID=""), instance(PatientID="")
    assert roundtrip(empty_one, profile).PatientID != roundtrip(empty_two, profile).PatientID
    target = profile.target_id(Identity.from_tags({"PatientID": "", "StudyInstanceUID": empty_one.StudyInstanceUID,
                                                   "SeriesInstanceUID": empty_one.SeriesInstanceUID,
                                                   "SOPInstanceUID": empty_one.SOPInstanceUID}))
    assert target == profile.target_id(Identity("", empty_one.StudyInstanceUID, empty_one.SeriesInstanceUID,
                                                empty_one.SOPInstanceUID))


def test_presentation_state_keeps_its_references_and_graphics_lose_their_text():
    image = generate_uid()
    dataset = instance(
        GSPS,
        Modality="PR",
        ContentLabel="MEASURE",
        PresentationCreationDate="20240312",
        ReferencedSeriesSequence=Sequence(
            [
                item(
                    SeriesInstanceUID=generate_uid(),
                    ReferencedImageSequence=Sequence([item(ReferencedSOPClassUID=CT, ReferencedSOPInstanceUID=image)]),
                )
            ]
        ),
        GraphicAnnotationSequence=Sequence(
            [
                item(
                    GraphicLayer="LAYER1",
                    TextObjectSequence=Sequence(
                        [item(UnformattedTextValue="Müller Jo MRN-4411", AnchorPointAnnotationUnits="PIXEL")]
                    ),
                )
            ]
        ),
    )
    profile = AnonymizationProfile(key=KEY)
    out = roundtrip(dataset, profile)
    assert out.ReferencedSeriesSequence[0].ReferencedImageSequence[0].ReferencedSOPInstanceUID == profile.uid(image)
    annotation = out.GraphicAnnotationSequence[0]
    assert annotation.GraphicLayer == "LAYER1" and annotation.TextObjectSequence[0].UnformattedTextValue == "REMOVED"
    assert out.ContentLabel == "MEASURE" and out.PresentationCreationDate != "20240312"


def test_the_gate_is_an_allow_list():
    assert withheld_reason({"SOPClassUID": CT}) is None
    assert withheld_reason({"SOPClassUID": US}) == "Ultrasound Image without BurnedInAnnotation=NO"
    assert withheld_reason({"SOPClassUID": US, "BurnedInAnnotation": "NO"}) is None
    assert withheld_reason({"SOPClassUID": US}, allow_burned_in=True) is None
    assert withheld_reason({"SOPClassUID": CT, "BurnedInAnnotation": "YES"}) == "BurnedInAnnotation=YES"
    assert withheld_reason({"SOPClassUID": "1.2.3.4"}) == "unknown SOP class 1.2.3.4 without BurnedInAnnotation=NO"
    assert withheld_reason({"SOPClassUID": "1.2.840.10008.5.1.4.1.1.12.1"}).endswith("without BurnedInAnnotation=NO")
    for allow in (False, True):
        reason = withheld_reason({"SOPClassUID": PDF, "BurnedInAnnotation": "NO"}, allow_burned_in=allow)
        assert reason == "Encapsulated PDF: an encapsulated document cannot be de-identified"


def test_an_encapsulated_document_is_never_emptied_and_sent():
    dataset = instance(PDF, Modality="DOC", EncapsulatedDocument=b"%PDF-1.4 Muller",
                       MIMETypeOfEncapsulatedDocument="application/pdf", BurnedInAnnotation="NO")
    with pytest.raises(CannotDeidentify, match="EncapsulatedDocument"):
        roundtrip(dataset, AnonymizationProfile(key=KEY, allow_burned_in=True))


def test_an_element_that_cannot_be_read_is_removed_and_named_not_quoted():
    dataset = instance()
    dataset.add_new(0x00181030, "LO", "Protocol Müller")  # ProtocolName, X/D
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    raw = buffer.getvalue().replace(b"DA\x08\x0020240312", b"DA\x08\x00\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8")
    notes: list[str] = []
    out = pydicom.dcmread(io.BytesIO(deidentify_file(raw, AnonymizationProfile(key=KEY), notes)))
    assert out.ProtocolName == "REMOVED"
    assert all("\xff" not in note for note in notes)
    assert "StudyDate" not in out or out.StudyDate in ("19000101", "")


def test_codes_are_never_date_shifted_but_a_person_written_as_a_code_is_blanked():
    code = item(CodeValue="19801005", CodingSchemeDesignator="SCT", CodeMeaning="Some finding")
    person = item(CodeValue="EMP-77812", CodingSchemeDesignator="L", CodeMeaning="Okafor, Ngozi")
    dataset = instance(AnatomicRegionSequence=Sequence([code]), ContentCreatorName="Okafor^Ngozi",
                       ContentCreatorIdentificationCodeSequence=Sequence([item(
                           PersonIdentificationCodeSequence=Sequence([person]))]))
    dataset.OperatorIdentificationSequence = Sequence([item(PersonIdentificationCodeSequence=Sequence([person]))])
    out = roundtrip(dataset)
    assert out.AnatomicRegionSequence[0].CodeValue == "19801005"
    assert out.AnatomicRegionSequence[0].CodeMeaning == "Some finding"
    operator_code = out.OperatorIdentificationSequence[0].PersonIdentificationCodeSequence[0]
    assert (operator_code.CodeValue, operator_code.CodeMeaning) == ("REMOVED", "REMOVED")
    assert operator_code.CodingSchemeDesignator == "L"


def test_a_date_written_into_a_time_is_replaced_and_an_institution_code_is_blanked():
    notes: list[str] = []
    dataset = instance(StudyTime="20240312101010", SeriesTime="101010.25", AcquisitionTime="10:10:10",
                       InstitutionCodeSequence=Sequence([item(CodeValue="HOSP-9", CodingSchemeDesignator="L",
                                                              CodeMeaning="St Elsewhere")]))
    out = roundtrip(dataset, notes=notes)
    assert out.StudyTime == "" or out.StudyTime == "000000"  # Annex E empties StudyTime anyway
    assert (out.SeriesTime, out.AcquisitionTime) == ("101010.25", "10:10:10")
    institution = out.InstitutionCodeSequence[0]
    assert (institution.CodeValue, institution.CodeMeaning) == ("REMOVED", "REMOVED")
    dataset = instance(ContentTime="2024-03-12 10:10")
    out = roundtrip(dataset, notes=notes)
    assert out.ContentTime == "000000" and "ContentTime: a TM value that is not a time of day" in notes[-1]
