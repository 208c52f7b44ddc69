"""Objects of the audit corpus that point at other instances: KOS, GSPS, SEG, RTSTRUCT, enhanced multi-frame CT.

Why: references hold original UIDs outside the study/series/instance trio (retrieve URLs, retrieve
locations, concatenation sources, derivation and source images, frames of reference), and their
Type 1/2 sequences must survive de-identification remapped, or the copy is no longer valid DICOM.
All of them point at the corpus CT image (key ``ct``) and sit in its study.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.support.deid_corpus_base import (
    KOWALCZYK,
    PACS_HOST,
    PHYSICIANS,
    STUDY_DATE,
    base,
    code,
    gradient,
    image_plane,
    set_ct_pixels,
    uid,
)

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
KOS = "1.2.840.10008.5.1.4.1.1.88.59"
GSPS = "1.2.840.10008.5.1.4.1.1.11.1"
SEG = "1.2.840.10008.5.1.4.1.1.66.4"
RTSTRUCT = "1.2.840.10008.5.1.4.1.1.481.3"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
CT = {"study": uid("ct", "study"), "series": uid("ct", "series"), "sop": uid("ct", "sop"),
      "frame": uid("ct", "frame-of-reference")}
NAME, MRN = KOWALCZYK.family, KOWALCZYK.patient_id


def _in_ct_study(sop_class: str, modality: str, marker: int, key: str) -> Dataset:
    return base(sop_class, modality, KOWALCZYK, key=key, study="ct", marker=marker)


def _sop(sop_class: str = CT_IMAGE, sop_uid: str = CT["sop"]) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, sop_uid
    return item


def _series_reference(*, retrieve: bool = False) -> Dataset:
    """A Referenced Series item pointing at the CT image; with ``retrieve``, where the PACS serves it."""
    series = Dataset()
    series.SeriesInstanceUID = CT["series"]
    if retrieve:
        series.RetrieveURL = f"https://{PACS_HOST}/dicom-web/studies/{CT['study']}/series/{CT['series']}"
        series.RetrieveLocationUID = uid("pacs-west", "retrieve-location")
        series.RetrieveAETitle = "PACSWEST"
    series.ReferencedSOPSequence = Sequence([_sop()])
    return series


def _request() -> Dataset:
    """A Referenced Request item: its Type 2 attributes must stay (emptied at most) in the copy."""
    request = Dataset()
    request.StudyInstanceUID = CT["study"]
    request.ReferencedStudySequence = Sequence([])
    request.AccessionNumber = "ACC-ct"
    request.PlacerOrderNumberImagingServiceRequest = "PO-55017"
    request.FillerOrderNumberImagingServiceRequest = "FO-55017"
    request.RequestedProcedureID = "RP-99120"
    request.RequestedProcedureDescription = f"CT thorax for {NAME}"
    request.RequestedProcedureCodeSequence = Sequence([])
    return request


def kos(marker: int) -> Dataset:
    """Key Object Selection: RetrieveURL holds the original StudyInstanceUID and the PACS host."""
    ds = _in_ct_study(KOS, "KO", marker, "kos")
    ds.ReferencedPerformedProcedureStepSequence = Sequence([])
    ds.ContentDate, ds.ContentTime = STUDY_DATE, "095000"
    ds.ReferencedRequestSequence = Sequence([_request()])
    evidence = Dataset()
    evidence.StudyInstanceUID = CT["study"]
    evidence.ReferencedSeriesSequence = Sequence([_series_reference(retrieve=True)])
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence([evidence])
    ds.ValueType, ds.ContinuityOfContent = "CONTAINER", "SEPARATE"
    ds.ConceptNameCodeSequence = Sequence([code("113000", "DCM", "Of Interest")])
    template = Dataset()
    template.MappingResource, template.TemplateIdentifier = "DCMR", "2010"
    ds.ContentTemplateSequence = Sequence([template])
    image = Dataset()
    image.RelationshipType, image.ValueType = "CONTAINS", "IMAGE"
    image.ReferencedSOPSequence = Sequence([_sop()])
    note = Dataset()
    note.RelationshipType, note.ValueType = "CONTAINS", "TEXT"
    note.ConceptNameCodeSequence = Sequence([code("113012", "DCM", "Key Object Description")])
    note.TextValue = f"Nodule shown to {NAME}'s family, see {MRN}"
    ds.ContentSequence = Sequence([note, image])
    return ds


def gsps(marker: int) -> Dataset:
    """A presentation state: its Type 1 references and its text annotation must stay (cleaned, remapped)."""
    ds = _in_ct_study(GSPS, "PR", marker, "gsps")
    ds.ContentLabel, ds.ContentDescription = "MEASURE", f"Nodule of {NAME} {MRN} on 12/03/2024"
    ds.ContentCreatorName = PHYSICIANS["NameOfPhysiciansReadingStudy"]
    ds.PresentationCreationDate, ds.PresentationCreationTime = STUDY_DATE, "100000"
    series = Dataset()
    series.SeriesInstanceUID = CT["series"]
    series.ReferencedImageSequence = Sequence([_sop()])
    ds.ReferencedSeriesSequence = Sequence([series])
    area = Dataset()
    area.DisplayedAreaTopLeftHandCorner, area.DisplayedAreaBottomRightHandCorner = [1, 1], [64, 64]
    area.PresentationSizeMode = "SCALE TO FIT"
    area.PresentationPixelSpacing = [0.7, 0.7]
    ds.DisplayedAreaSelectionSequence = Sequence([area])
    layer = Dataset()
    layer.GraphicLayer, layer.GraphicLayerOrder = "ANNOTATION", 1
    ds.GraphicLayerSequence = Sequence([layer])
    text = Dataset()
    text.AnchorPointAnnotationUnits, text.AnchorPoint, text.AnchorPointVisibility = "PIXEL", [10.0, 10.0], "Y"
    text.UnformattedTextValue = f"{NAME} {MRN} nodule 6 mm"
    annotation = Dataset()
    annotation.GraphicLayer = "ANNOTATION"
    annotation.ReferencedImageSequence = Sequence([_sop()])
    annotation.TextObjectSequence = Sequence([text])
    ds.GraphicAnnotationSequence = Sequence([annotation])
    ds.PresentationLUTShape = "IDENTITY"
    return ds


def seg(marker: int) -> Dataset:
    """A binary segmentation of the CT image, with its source image and frame of reference."""
    ds = _in_ct_study(SEG, "SEG", marker, "seg")
    ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = CT["frame"], ""
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.ContentLabel, ds.ContentDescription = "NODULE", f"Nodule outline for {NAME}"
    ds.ContentCreatorName = PHYSICIANS["NameOfPhysiciansReadingStudy"]
    ds.ContentDate, ds.ContentTime = STUDY_DATE, "100000"
    ds.SegmentationType, ds.LossyImageCompression = "BINARY", "00"
    segment = Dataset()
    segment.SegmentNumber, segment.SegmentLabel, segment.SegmentAlgorithmType = 1, "Nodule", "MANUAL"
    segment.SegmentedPropertyCategoryCodeSequence = Sequence(
        [code("49755003", "SCT", "Morphologically Altered Structure")])
    segment.SegmentedPropertyTypeCodeSequence = Sequence([code("27925004", "SCT", "Nodule")])
    ds.SegmentSequence = Sequence([segment])
    ds.Rows = ds.Columns = 64
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    ds.NumberOfFrames = 1
    mask = np.zeros((64, 64), dtype=np.uint8)
    mask[20:30, 24:34] = 1
    ds.PixelData = np.packbits(mask.ravel(), bitorder="little").tobytes()
    shared = _shared_geometry()
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frame = Dataset()
    derivation = Dataset()
    derivation.DerivationCodeSequence = Sequence([code("113076", "DCM", "Segmentation")])
    source = _sop()
    source.PurposeOfReferenceCodeSequence = Sequence(
        [code("121322", "DCM", "Source image for image processing operation")])
    derivation.SourceImageSequence = Sequence([source])
    frame.DerivationImageSequence = Sequence([derivation])
    content = Dataset()
    content.DimensionIndexValues = [1, 1]
    frame.FrameContentSequence = Sequence([content])
    position = Dataset()
    position.ImagePositionPatient = [-22.4, -22.4, 100]
    frame.PlanePositionSequence = Sequence([position])
    identification = Dataset()
    identification.ReferencedSegmentNumber = 1
    frame.SegmentIdentificationSequence = Sequence([identification])
    ds.PerFrameFunctionalGroupsSequence = Sequence([frame])
    dimension_organization = uid("seg", "dimensions")
    organization = Dataset()
    organization.DimensionOrganizationUID = dimension_organization
    ds.DimensionOrganizationSequence = Sequence([organization])
    ds.DimensionIndexSequence = Sequence([_dimension(dimension_organization, 0x0062000B, 0x0062000A),
                                          _dimension(dimension_organization, 0x00200032, 0x00209113)])
    ds.ReferencedSeriesSequence = Sequence([_series_reference()])
    ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence = ds.ReferencedSeriesSequence[0].ReferencedSOPSequence
    del ds.ReferencedSeriesSequence[0].ReferencedSOPSequence
    return ds


def _shared_geometry() -> Dataset:
    """The shared functional groups' pixel measures and plane orientation (the CT image's geometry)."""
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing, measures.SliceThickness = [0.7, 0.7], 1.0
    shared.PixelMeasuresSequence = Sequence([measures])
    orientation = Dataset()
    orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    shared.PlaneOrientationSequence = Sequence([orientation])
    return shared


def _dimension(organization: str, pointer: int, group: int) -> Dataset:
    item = Dataset()
    item.DimensionOrganizationUID = organization
    item.DimensionIndexPointer, item.FunctionalGroupPointer = pointer, group
    return item


def rtstruct(marker: int) -> Dataset:
    """A structure set on the CT image: frame of reference, contour image references, the ROI interpreter."""
    ds = _in_ct_study(RTSTRUCT, "RTSTRUCT", marker, "rtstruct")
    ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = CT["frame"], ""
    ds.StructureSetLabel, ds.StructureSetName = "THORAX-RT1", f"Plan {NAME}"
    ds.StructureSetDate, ds.StructureSetTime = STUDY_DATE, "110000"
    series = Dataset()
    series.SeriesInstanceUID = CT["series"]
    series.ContourImageSequence = Sequence([_sop()])
    study = Dataset()
    study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study.ReferencedSOPInstanceUID = CT["study"]
    study.RTReferencedSeriesSequence = Sequence([series])
    frame = Dataset()
    frame.FrameOfReferenceUID = CT["frame"]
    frame.RTReferencedStudySequence = Sequence([study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])
    roi = Dataset()
    roi.ROINumber, roi.ReferencedFrameOfReferenceUID = 1, CT["frame"]
    roi.ROIName, roi.ROIGenerationAlgorithm = f"GTV {NAME}", "MANUAL"
    roi.ROIDescription = f"Drawn for {NAME} on 12/03/2024"
    ds.StructureSetROISequence = Sequence([roi])
    contour = Dataset()
    contour.ContourImageSequence = Sequence([_sop()])
    contour.ContourGeometricType, contour.NumberOfContourPoints = "CLOSED_PLANAR", 3
    contour.ContourData = [0.0, 0.0, 100.0, 5.0, 0.0, 100.0, 0.0, 5.0, 100.0]
    roi_contour = Dataset()
    roi_contour.ReferencedROINumber, roi_contour.ROIDisplayColor = 1, [255, 0, 0]
    roi_contour.ContourSequence = Sequence([contour])
    ds.ROIContourSequence = Sequence([roi_contour])
    observation = Dataset()
    observation.ObservationNumber, observation.ReferencedROINumber = 1, 1
    observation.RTROIInterpretedType = "GTV"
    observation.ROIInterpreter = PHYSICIANS["ConsultingPhysicianName"]
    ds.RTROIObservationsSequence = Sequence([observation])
    ds.ApprovalStatus = "UNAPPROVED"
    return ds


def enhanced_ct(marker: int) -> Dataset:
    """An enhanced CT in a concatenation: functional groups hold dates, kernels and source images."""
    ds = base(ENHANCED_CT, "CT", KOWALCZYK, key="enhanced-ct", study="ct", marker=marker)
    image_plane(ds, CT["frame"])
    for keyword in ("PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient", "SliceThickness"):
        delattr(ds, keyword)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.ContentDate, ds.ContentTime, ds.AcquisitionDateTime = STUDY_DATE, "094107", STUDY_DATE + "094107"
    ds.AcquisitionNumber, ds.PresentationLUTShape = 1, "IDENTITY"
    ds.BurnedInAnnotation, ds.LossyImageCompression = "NO", "00"
    ds.PixelPresentation, ds.VolumetricProperties, ds.VolumeBasedCalculationTechnique = "MONOCHROME", "VOLUME", "NONE"
    ds.ConcatenationUID = uid("enhanced-ct", "concatenation")
    ds.SOPInstanceUIDOfConcatenationSource = uid("enhanced-ct", "concatenation-source")
    ds.InConcatenationNumber, ds.InConcatenationTotalNumber, ds.ConcatenationFrameOffsetNumber = 1, 2, 0
    set_ct_pixels(ds, gradient(), frames=2)
    shared = _shared_geometry()
    reconstruction = Dataset()
    reconstruction.ConvolutionKernel = f"B30f {NAME}"
    reconstruction.ReconstructionAlgorithm = "FILTER_BACK_PROJ"
    shared.CTReconstructionSequence = Sequence([reconstruction])
    voi = Dataset()
    voi.WindowCenter, voi.WindowWidth = "40", "400"
    voi.WindowCenterWidthExplanation = f"{NAME} {MRN} mediastinum"
    shared.FrameVOILUTSequence = Sequence([voi])
    rescale = Dataset()
    rescale.RescaleIntercept, rescale.RescaleSlope, rescale.RescaleType = "-1024", "1", "HU"
    shared.PixelValueTransformationSequence = Sequence([rescale])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    ds.PerFrameFunctionalGroupsSequence = Sequence([_frame(n) for n in range(2)])
    ds.PatientPosition, ds.AcquisitionDuration, ds.ContentQualification = "HFS", 1.0, "PRODUCT"
    ds.AcquisitionContextSequence = Sequence([])
    organization = uid("enhanced-ct", "dimensions")
    ds.DimensionOrganizationSequence = Sequence([Dataset()])
    ds.DimensionOrganizationSequence[0].DimensionOrganizationUID = organization
    ds.DimensionIndexSequence = Sequence([_dimension(organization, 0x00200032, 0x00209113)])
    evidence = Dataset()
    evidence.StudyInstanceUID = CT["study"]
    evidence.ReferencedSeriesSequence = Sequence([_series_reference()])
    ds.SourceImageEvidenceSequence = Sequence([evidence])
    return ds


def _frame(number: int) -> Dataset:
    frame = Dataset()
    content = Dataset()
    content.FrameAcquisitionDateTime = f"{STUDY_DATE}09410{number}"
    content.FrameReferenceDateTime = f"{STUDY_DATE}09410{number}"
    content.FrameAcquisitionDuration = 500
    content.FrameAcquisitionNumber = 1
    frame.FrameContentSequence = Sequence([content])
    position = Dataset()
    position.ImagePositionPatient = [-22.4, -22.4, 100 + number]
    frame.PlanePositionSequence = Sequence([position])
    derivation = Dataset()
    derivation.DerivationCodeSequence = Sequence([code("113040", "DCM", "Lossy Compression")])
    derivation.SourceImageSequence = Sequence([_sop()])
    derivation.SourceImageSequence[0].PurposeOfReferenceCodeSequence = Sequence(
        [code("121320", "DCM", "Uncompressed predecessor")])
    frame.DerivationImageSequence = Sequence([derivation])
    return frame
