"""The red team's files that already held: transfer syntaxes and pixels, hidden text, the gate, other objects.

The findings (what leaked or failed before the profile was mended) are in test_redteam.py.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.coding import Code
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
)

from copydicom_provider.deid import AnonymizationProfile, withheld_reason
from copydicom_provider.testing.dose_sr import container, datetime_item, text_item, uid_item
from tests.support.deid_corpus_base import (
    KOWALCZYK,
    YAMADA,
    base,
    code,
    uid,
)
from tests.support.phi_cases import make_planted_dose_sr
from tests.support.redteam import (
    CT,
    ECG,
    MG,
    PDF,
    PROFILE,
    ct_image,
    deidentified,
    findings,
    jpeg_ct,
    needs_dciodvfy,
    raw,
    read,
    to_bytes,
)

# --- what holds: transfer syntaxes and pixels ------------------------------------------------


@pytest.mark.parametrize(("syntax", "encoding"), [
    (ImplicitVRLittleEndian, {"implicit_vr": True, "little_endian": True}),
    (ExplicitVRBigEndian, {"implicit_vr": False, "little_endian": False}),
    (DeflatedExplicitVRLittleEndian, {}),
    (JPEGBaseline8Bit, {}),
])
def test_each_transfer_syntax_comes_out_clean_in_the_same_syntax_with_identical_pixels(syntax: str,
                                                                                       encoding: dict) -> None:
    """Implicit, big endian, deflated and encapsulated files: no residual, same syntax, pixel bytes unchanged."""
    ds = jpeg_ct() if syntax == JPEGBaseline8Bit else ct_image(key=f"redteam-{syntax}")
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
