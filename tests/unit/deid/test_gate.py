"""Which instances may leave de-identified: the allow-list and the reasons it gives for the rest."""

from __future__ import annotations

import pytest

from copydicom_provider.deid.gate import class_name, withheld_reason

CT = "1.2.840.10008.5.1.4.1.1.2"
MR_SPECTROSCOPY = "1.2.840.10008.5.1.4.1.1.4.2"
ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"
SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"
GSPS = "1.2.840.10008.5.1.4.1.1.11.1"
RT_PLAN = "1.2.840.10008.5.1.4.1.1.481.5"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
ULTRASOUND = "1.2.840.10008.5.1.4.1.1.6.1"
RT_IMAGE = "1.2.840.10008.5.1.4.1.1.481.1"
PHOTOGRAPH = "1.2.840.10008.5.1.4.1.1.77.1.4"
ENDOSCOPY_VIDEO = "1.2.840.10008.5.1.4.1.1.77.1.1.1"
PDF = "1.2.840.10008.5.1.4.1.1.104.1"
STL = "1.2.840.10008.5.1.4.1.1.104.3"


@pytest.mark.parametrize("sop_class", [CT, MR_SPECTROSCOPY, ENHANCED_SR, DOSE_SR, SEGMENTATION, GSPS, RT_PLAN])
def test_classes_clean_by_construction_go_without_a_flag(sop_class):
    assert withheld_reason({"SOPClassUID": sop_class}) is None


@pytest.mark.parametrize(
    ("sop_class", "reason"),
    [
        (SECONDARY_CAPTURE, "Secondary Capture Image without BurnedInAnnotation=NO"),
        (ULTRASOUND, "Ultrasound Image without BurnedInAnnotation=NO"),
        (RT_IMAGE, "RT Image without BurnedInAnnotation=NO"),
        ("1.2.3.4", "unknown SOP class 1.2.3.4 without BurnedInAnnotation=NO"),
        ("", "an instance without SOPClassUID without BurnedInAnnotation=NO"),
    ],
)
def test_other_classes_need_burned_in_annotation_no(sop_class, reason):
    assert withheld_reason({"SOPClassUID": sop_class}) == reason
    assert withheld_reason({"SOPClassUID": sop_class, "BurnedInAnnotation": " no "}) is None


@pytest.mark.parametrize("sop_class", [CT, ENHANCED_SR, SECONDARY_CAPTURE])
@pytest.mark.parametrize(("flag", "reason"), [("BurnedInAnnotation", "BurnedInAnnotation=YES"),
                                              ("RecognizableVisualFeatures", "RecognizableVisualFeatures=YES")])
def test_a_yes_flag_withholds_any_class(sop_class, flag, reason):
    assert withheld_reason({"SOPClassUID": sop_class, flag: "yes"}) == reason


def test_a_yes_flag_wins_over_a_no_flag():
    tags = {"SOPClassUID": CT, "BurnedInAnnotation": "NO", "RecognizableVisualFeatures": "YES"}
    assert withheld_reason(tags) == "RecognizableVisualFeatures=YES"


@pytest.mark.parametrize(
    "image_type",
    [
        "DERIVED\\SECONDARY\\SCREEN SAVE",  # Orthanc's simplified form
        ["DERIVED", "SECONDARY", "SCREEN SAVE"],
        ("derived", " secondary ", "screen save"),
    ],
)
def test_a_workstation_screen_under_a_reconstructed_class_needs_the_flag(image_type):
    tags = {"SOPClassUID": CT, "ImageType": image_type}
    assert withheld_reason(tags) == "CT Image of ImageType SCREEN SAVE/SECONDARY without BurnedInAnnotation=NO"
    assert withheld_reason({**tags, "BurnedInAnnotation": "NO"}) is None


def test_an_acquired_image_goes():
    assert withheld_reason({"SOPClassUID": CT, "ImageType": "ORIGINAL\\PRIMARY\\AXIAL"}) is None


def test_image_type_does_not_matter_outside_the_reconstructed_images():
    assert withheld_reason({"SOPClassUID": ENHANCED_SR, "ImageType": "DERIVED\\SECONDARY"}) is None


@pytest.mark.parametrize("sop_class", [PHOTOGRAPH, ENDOSCOPY_VIDEO])
@pytest.mark.parametrize(
    "flags",
    [{}, {"BurnedInAnnotation": "NO"}, {"RecognizableVisualFeatures": "NO"}],
)
def test_camera_classes_need_both_flags_no(sop_class, flags):
    reason = withheld_reason({"SOPClassUID": sop_class, **flags})
    assert reason == f"{class_name(sop_class)} without BurnedInAnnotation=NO and RecognizableVisualFeatures=NO"
    both = {"BurnedInAnnotation": "NO", "RecognizableVisualFeatures": "NO"}
    assert withheld_reason({"SOPClassUID": sop_class, **both}) is None


@pytest.mark.parametrize(("sop_class", "name"), [(PDF, "Encapsulated PDF"), (STL, "Encapsulated STL")])
@pytest.mark.parametrize("allow_burned_in", [False, True])
def test_encapsulated_documents_never_go(sop_class, name, allow_burned_in):
    tags = {"SOPClassUID": f" {sop_class} ", "BurnedInAnnotation": "NO"}
    assert withheld_reason(tags, allow_burned_in=allow_burned_in) == (
        f"{name}: an encapsulated document cannot be de-identified")


@pytest.mark.parametrize(
    "tags",
    [{"SOPClassUID": SECONDARY_CAPTURE, "BurnedInAnnotation": "YES"}, {"SOPClassUID": PHOTOGRAPH},
     {"SOPClassUID": CT, "ImageType": "DERIVED\\SECONDARY"}],
)
def test_allow_burned_in_sends_the_rest(tags):
    assert withheld_reason(tags) is not None
    assert withheld_reason(tags, allow_burned_in=True) is None


@pytest.mark.parametrize(
    ("sop_class", "name"),
    [(CT, "CT Image"), (PHOTOGRAPH, "VL Photographic Image"), (ENHANCED_SR, "Enhanced SR"),
     ("1.2.3", "unknown SOP class 1.2.3"), ("", "an instance without SOPClassUID")],
)
def test_class_name(sop_class, name):
    assert class_name(sop_class) == name
