"""The safety net: identifiers collected at every depth, folded, and hunted as whole words."""

from __future__ import annotations

import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from copydicom_provider.deid.identifiers import collect, fold, holds_identifier, pattern, values


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Müller", "MULLER"), ("Ødegård", "ODEGARD"), ("Straße", "STRASSE"), ("Łukasz", "LUKASZ"),
     ("Þór", "THOR"), ("Y\u0131ld\u0131z", "YILDIZ"),  # dotless i
     ("\uff2d\uff41\uff52\uff49\uff45", "MARIE"), ("José-Luis", "JOSE-LUIS")],  # fullwidth letters
)
def test_fold_drops_case_and_accents(text, folded):
    assert fold(text) == folded


def test_values_gives_each_text_value():
    dataset = Dataset()
    dataset.OtherPatientIDs = ["A-1", "B-2"]
    dataset.PatientID = "MRN-1"
    dataset.PatientSize = "1.75"
    assert values(dataset["OtherPatientIDs"]) == ["A-1", "B-2"]
    assert values(dataset["PatientID"]) == ["MRN-1"]
    assert values(dataset["PatientSize"]) == ["1.75"]


@pytest.mark.parametrize(
    "element",
    [DataElement(0x00100020, "LO", ""), DataElement(0x00100020, "LO", None),
     DataElement(0x00081110, "SQ", Sequence([Dataset()])), DataElement(0x00091010, "OB", b"\x00\x01")],
)
def test_values_of_empty_sequence_or_bytes_elements_are_none(element):
    assert values(element) == []


@pytest.fixture
def instance() -> Dataset:
    """An instance carrying identifiers at the top and in a sequence, beside text that does not identify."""
    dataset = Dataset()
    dataset.PatientName = "Müller-Lüdenscheidt^Hans Peter^J^Dr^III"
    dataset.PatientID = "MRN-77123"
    dataset.InstitutionName = "St. Mary Hospital"
    dataset.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.11"
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    dataset.FrameOfReferenceUID = "1.2.840.10008.1.4.1.1"  # a well-known frame of reference
    dataset.StudyDescription = "CHEST"  # descriptive: not hunted elsewhere
    dataset.Manufacturer = "ACME"  # kept text
    dataset.Modality = "MR"
    dataset.DeviceSerialNumber = "SN-4455"
    dataset.add_new(0x00091010, "LO", "PRIVATE-SECRET")
    request = Dataset()
    request.RequestedProcedureID = "RP 990"
    request.ReferringPhysicianName = "Ng^Li"
    dataset.RequestAttributesSequence = Sequence([request])
    return dataset


def test_collect_gathers_names_ids_places_and_uids_at_every_depth(instance):
    found = collect(instance)
    expected = {
        "MULLER-LUDENSCHEIDT^HANS PETER^J^DR^III", "MULLER-LUDENSCHEIDT", "MULLER", "LUDENSCHEIDT",
        "HANS PETER", "HANS", "PETER",
        "MRN-77123", "MRN77123", "ST. MARY HOSPITAL", "STMARYHOSPITAL", "SN-4455", "SN4455",
        "1.2.826.0.1.3680043.8.498.11",
        "RP 990", "RP990", "NG^LI", "NG", "LI",
    }
    assert found == expected


def test_collect_passes_over_titles_initials_codes_kept_text_and_private_elements(instance):
    found = collect(instance)
    for word in ("DR", "III", "J", "CHEST", "ACME", "MR", "PRIVATE-SECRET", "1.2.840.10008.5.1.4.1.1.2",
                 "1.2.840.10008.1.4.1.1"):
        assert word not in found, word


def test_collect_does_not_hunt_what_the_profile_retains(instance):
    found = collect(instance, retained=frozenset({"DeviceSerialNumber", "PatientName"}))
    assert not {"SN-4455", "SN4455", "MULLER", "HANS"} & found
    assert {"MRN-77123", "NG"} <= found


def test_collect_keeps_single_character_names_only_in_scripts_that_write_names_so():
    dataset = Dataset()
    dataset.PatientName = "Wang^Xiao=王^小"
    dataset.OtherPatientNames = "O'Brien^Mary"
    found = collect(dataset)
    assert {"王", "小", "WANG", "XIAO", "BRIEN", "MARY"} <= found
    assert "O" not in found


def test_pattern_finds_an_identifier_as_a_whole_word_of_a_folded_text():
    hunted = pattern({"MULLER", "MRN-77123"})
    assert holds_identifier("Seen by Dr. müller today", hunted)
    assert holds_identifier("ref mrn-77123.", hunted)
    assert not holds_identifier("Mullerton clinic", hunted)
    assert not holds_identifier("MRN-771234", hunted)
    assert not holds_identifier("XMULLER", hunted)


def test_pattern_prefers_the_longest_identifier():
    hunted = pattern({"HANS", "HANS PETER"})
    assert hunted.search("SEEN: HANS PETER").group(0) == "HANS PETER"


def test_pattern_drops_identifiers_shorter_than_asked():
    assert pattern({"LI", "NG"}, shortest=3) is None
    hunted = pattern({"LI", "MULLER"}, shortest=3)
    assert not holds_identifier("Li", hunted) and holds_identifier("Muller", hunted)
    assert holds_identifier("王 was here", pattern({"王"}))  # the default keeps every collected fragment


def test_nothing_to_hunt_holds_nothing():
    assert pattern(set()) is None
    assert not holds_identifier("MULLER", None)
