"""PS3.15 Annex E's table resolved into one action per attribute, the dummies, and the well-known UIDs."""

from __future__ import annotations

import pytest
from pydicom import config
from pydicom.datadict import dictionary_VR
from pydicom.tag import BaseTag, Tag
from pydicom.valuerep import validate_value

from copydicom_provider.deid.actions import (
    DEFINITION_UIDS,
    DUMMY_BY_VR,
    DUMMY_TEXT,
    RESOLVED,
    Action,
    annex_e_table,
    dummy,
    is_well_known_uid,
)


@pytest.mark.parametrize(
    ("keyword", "action"),
    [
        ("PatientName", Action.EMPTY),  # Z
        ("StudyDate", Action.EMPTY),  # Z
        ("PatientAddress", Action.REMOVE),  # X
        ("RequestAttributesSequence", Action.REMOVE),  # X
        ("StudyInstanceUID", Action.REMAP),  # U
        ("ReferencedStudySequence", Action.EMPTY),  # X/Z: Type 2 somewhere, so emptied
        ("SeriesDate", Action.DUMMY),  # X/D
        ("InstitutionName", Action.DUMMY),  # X/Z/D
        ("ContentDate", Action.DUMMY),  # Z/D
        ("ReferencedImageSequence", Action.REMAP),  # X/Z/U*: kept, its UIDs remapped
        ("RequestedProcedureID", Action.EMPTY),  # X in the table, Type 2 in an SR's Referenced Request Sequence
    ],
)
def test_the_table_resolves_each_combined_action_to_one_valid_for_every_type(keyword, action):
    assert annex_e_table()[Tag(keyword)] is action


def test_the_table_holds_only_whole_tags_with_resolved_actions():
    table = annex_e_table()
    assert len(table) > 500
    assert all(isinstance(tag, BaseTag) for tag in table)
    assert set(table.values()) <= set(Action)
    assert not [tag for tag in table if tag.group & 0xFF00 in (0x5000, 0x6000)]  # masks are the walker's


def test_every_combined_action_resolves_to_one_of_its_own_parts():
    for category, action in RESOLVED.items():
        assert action.value in category.split("_"), category


def test_attributes_outside_the_table_are_not_in_it():
    table = annex_e_table()
    assert Tag("Modality") not in table
    assert Tag("PixelData") not in table


@pytest.mark.parametrize("vr", sorted({*DUMMY_BY_VR, "LO", "SH", "PN", "LT", "UT", "ST", "UC", "AE"}))
def test_each_dummy_is_a_valid_value_of_its_vr(vr):
    validate_value(vr, dummy(vr), config.RAISE)  # PS3.5 6.2, as pydicom checks it


def test_an_invalid_value_fails_the_check_the_dummies_pass():
    with pytest.raises(ValueError, match="Invalid value for VR DA"):
        validate_value("DA", "1900-01-01", config.RAISE)


@pytest.mark.parametrize("vr", ["LO", "SH", "PN", "LT", "UT", "ST"])
def test_text_vrs_get_the_dummy_text(vr):
    assert dummy(vr) == DUMMY_TEXT


def test_dummies_of_dates_and_uids_mean_nothing():
    assert dummy("DA") == "19000101" and dummy("DT").startswith(dummy("DA"))
    assert dummy("UI").startswith("2.25.")  # a UUID-derived UID: under no organisation's root


def test_the_ur_dummy_is_a_uri_that_locates_nothing():
    """A Type 1 UR needs a value: an empty one is invalid, a host name would point somewhere."""
    from urllib.parse import urlsplit

    parts = urlsplit(dummy("UR"))
    assert parts.scheme == "urn" and not parts.netloc and dummy("UR").endswith("0" * 12)


@pytest.mark.parametrize(
    ("keyword", "value", "known"),
    [
        ("SOPClassUID", "1.2.840.10008.5.1.4.1.1.2", True),
        ("ReferencedSOPClassUID", "1.3.6.1.4.1.9590.100.1.2", True),  # a definition, whatever its root
        ("TransferSyntaxUID", "1.2.840.10008.1.2.1", True),
        ("FrameOfReferenceUID", "1.2.840.10008.1.4.1.1", True),  # a well-known frame of reference
        ("StudyInstanceUID", "1.2.826.0.1.3680043.8.498.1", False),
        ("SOPInstanceUID", "1.2.840.10008", False),  # the root itself, without its dot, names no definition
        ("ReferencedSOPInstanceUID", "1.2.840.100081.2", False),  # not under the root: a longer arc
    ],
)
def test_well_known_uids_are_definitions_or_under_the_registry_root(keyword, value, known):
    assert is_well_known_uid(keyword, value) is known


def test_definition_uid_keywords_are_uid_attributes():
    assert {dictionary_VR(Tag(keyword)) for keyword in DEFINITION_UIDS} == {"UI"}
