"""records.sr_walk: the content tree walk -> report fields, event records, and warnings by content path."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.coding import Code

from copydicom_provider.records.dose_fields import RecordFields
from copydicom_provider.records.sr_walk import ContentWalker
from copydicom_provider.testing.sr_content import (
    UNIT_MGY,
    code_item,
    container,
    content_item,
    num_item,
    raw_value,
    text_item,
    uid_item,
)

KV, MM, PULSES = Code("kV", "UCUM", "kV"), Code("mm", "UCUM", "mm"), Code("{pulses}", "UCUM", "pulses")
CT_ACQUISITION = Code("113819", "DCM", "CT Acquisition")
SOURCE_PARAMETERS = Code("113831", "DCM", "CT X-Ray Source Parameters")
SOURCE_ID = Code("113832", "DCM", "Identification of the X-Ray Source")
FILTERS = Code("113771", "DCM", "X-Ray Filters")
FILTER_MATERIAL = Code("113757", "DCM", "X-Ray Filter Material")
FILTER_MIN = Code("113758", "DCM", "X-Ray Filter Thickness Minimum")
KVP = Code("113733", "DCM", "KVP")
COMMENT = Code("121106", "DCM", "Comment")
PROTOCOL = Code("125203", "DCM", "Acquisition Protocol")
TARGET_REGION = Code("123014", "DCM", "Target Region")
DLP_TOTAL = Code("113813", "DCM", "CT Dose Length Product Total")
START = Code("113809", "DCM", "Start of X-Ray Irradiation")
FOO = Code("F1", "99ACME", "Foo bar")


def walk(*items: Dataset) -> tuple[dict, list[dict]]:
    """The report record and the event records of a content tree with ``items`` under its root."""
    walker, fields = ContentWalker(), RecordFields()
    walker.walk(items, fields, "1", None)
    return fields.record(), [event.record() for event in walker.events]


def source(name: str | None, kvp: float) -> Dataset:
    children = [text_item(SOURCE_ID, name)] if name else []
    return container(SOURCE_PARAMETERS, [*children, num_item(KVP, kvp, KV)])


def concept_without_value(value_type: str, meaning: str) -> Dataset:
    item = content_item("CONTAINS", value_type, None)
    code = Dataset()
    code.CodingSchemeDesignator, code.CodeMeaning = "99ACME", meaning
    item.ConceptNameCodeSequence = Sequence([code])
    return item


def test_an_event_container_opens_a_record_of_its_own():
    report, events = walk(
        text_item(COMMENT, "before"),
        container(CT_ACQUISITION, [num_item(KVP, 120, KV), text_item(PROTOCOL, "Head")]),
        num_item(DLP_TOTAL, 512.5, Code("mGy.cm", "UCUM", "mGy.cm")),
    )
    assert report == {"Comment": "before", "DLPTotal": 512.5, "DLPTotal_unit": "mGy.cm"}
    assert events == [{"KVP": 120, "KVP_unit": "kV", "AcquisitionProtocol": "Head"}]


def test_an_event_container_is_known_by_its_meaning_under_a_private_code():
    _, events = walk(container(Code("X1", "99ACME", " ct ACQUISITION "), [num_item(KVP, 80, KV)]))
    assert events == [{"KVP": 80, "KVP_unit": "kV"}]


def test_a_container_without_a_concept_only_groups():
    report, events = walk(content_item("CONTAINS", "CONTAINER", None))
    assert (report, events) == ({}, [])
    unnamed = content_item("CONTAINS", "CONTAINER", None)
    unnamed.ContentSequence = Sequence([text_item(COMMENT, "inside")])
    assert walk(unnamed) == ({"Comment": "inside"}, [])


def test_values_are_converted_to_the_unit_of_their_key():
    report, _ = walk(num_item(DLP_TOTAL, 0.5, Code("Gy.cm", "UCUM", "Gy.cm")))
    assert report == {"DLPTotal": 500, "DLPTotal_unit": "mGy.cm"}


def test_tubes_are_named_by_their_identification_or_by_position():
    _, events = walk(container(CT_ACQUISITION, [source("A", 120), source("B", 100)]),
                     container(CT_ACQUISITION, [source(None, 80), source(None, 140)]))
    assert (events[0]["KVP"], events[0]["KVP_SourceA"], events[0]["KVP_SourceB"]) == (110, 120, 100)
    assert (events[1]["KVP_Source1"], events[1]["KVP_Source2"]) == (80, 140)
    assert "KVP_series" not in events[0]


def test_a_filter_is_named_by_the_camel_case_of_its_material():
    material = code_item(FILTER_MATERIAL, Code("C-127A04", "SRT", "copper or copper-compound"))
    report, _ = walk(container(FILTERS, [material, num_item(FILTER_MIN, 0.1, MM)]))
    assert report["XRayFilterThicknessMinimum_FilterCopperOrCopperCompound"] == 0.1
    assert report["XRayFilterMaterial"] == "copper or copper-compound"
    assert report["XRayFilterMaterial_code"] == "SRT:C-127A04"


def test_a_laterality_modifier_keeps_the_value_per_side():
    side = code_item(Code("272741003", "SCT", "Laterality"), Code("80248007", "SCT", "Left breast"))
    agd = num_item(Code("111637", "DCM", "Accumulated Average Glandular Dose"), 1.25, UNIT_MGY)
    agd.ContentSequence = Sequence([side])
    report, _ = walk(agd)
    assert report["AccumulatedAverageGlandularDose"] == 1.25
    assert report["AccumulatedAverageGlandularDose_LeftBreast"] == 1.25


def test_no_value_and_empty_text_are_left_out_without_a_warning():
    assert walk(num_item(KVP, None, KV), text_item(COMMENT, "")) == ({}, [])


def test_a_reference_gives_its_instance_uid():
    image = content_item("CONTAINS", "IMAGE", Code("121233", "DCM", "Source of dose information"))
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2", "1.2.3.4"
    image.ReferencedSOPSequence = Sequence([ref])
    report, _ = walk(image, uid_item(Code("121012", "DCM", "Device Observer UID"), "1.2.9"))
    assert report == {"SourceOfDoseInformation": "1.2.3.4", "DeviceObserverUID": "1.2.9"}


def bad_datetime() -> Dataset:
    item = content_item("CONTAINS", "DATETIME", START)
    raw_value(item, "DateTime", "DT", "2025xx")
    return item


def bad_number(text: str) -> Dataset:
    item = num_item(KVP, 120, KV)
    raw_value(item.MeasuredValueSequence[0], "NumericValue", "DS", text)
    return item


def code_without_value() -> Dataset:
    item = code_item(TARGET_REGION, Code("X", "99ACME", "Head"))
    del item.ConceptCodeSequence[0].CodeValue
    return item


@pytest.mark.parametrize(("item", "warning"), [
    (Dataset(), "has no ValueType"),
    (content_item("CONTAINS", "NUM", None), "NUM item has no concept name"),
    (concept_without_value("TEXT", "Foo"), "concept name 'Foo' has no code value"),
    (content_item("CONTAINS", "CODE", TARGET_REGION), "CODE item TargetRegion has no ConceptCodeSequence"),
    (code_without_value(), "CODE item TargetRegion: its code has no code value"),
    (content_item("CONTAINS", "TEXT", COMMENT), "TEXT item Comment has no TextValue"),
    (bad_datetime(), "DATETIME item StartOfXRayIrradiation has unreadable value '2025xx'"),
    (num_item(KVP, 120, Code("mA", "UCUM", "mA")), "NUM item KVP: unit 'mA' cannot be converted to 'kV'"),
    (bad_number("abc"), "NUM item KVP has non-numeric value 'abc'"),
    (bad_number("Infinity"), "NUM item KVP has non-finite value 'Infinity'"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_an_unreadable_item_is_skipped_and_named_by_its_path(item, warning):
    report, _ = walk(text_item(COMMENT, "kept"), item)
    assert report == {"Comment": "kept", "ParseWarnings": f"1.2: {warning}; skipped"}


def test_a_second_unit_for_a_key_is_skipped_with_a_warning_in_its_event():
    event = container(CT_ACQUISITION, [num_item(FOO, 2, MM), num_item(FOO, 3, PULSES)])
    report, events = walk(text_item(COMMENT, "x"), event)
    assert report == {"Comment": "x"}
    assert events == [{"FooBar": 2, "FooBar_unit": "mm",
                       "ParseWarnings": "1.2.2: NUM item FooBar in '{pulses}', the record holds it in 'mm'; skipped"}]


def test_a_concept_without_a_code_value_in_an_optional_place_is_walked_through():
    group = concept_without_value("CONTAINER", "Private group")
    group.ContentSequence = Sequence([text_item(COMMENT, "inside")])
    assert walk(group) == ({"Comment": "inside"}, [])


class Exploding(dict):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    def get(self, *args, **kwargs):
        raise self.error


@pytest.mark.parametrize(("error", "warning"), [
    (RuntimeError("boom"), "1.1: RuntimeError: boom; skipped"),
    (RecursionError(), "1.1: nested too deep; skipped"),
])
def test_any_other_failure_of_an_item_is_named_and_the_walk_goes_on(error, warning):
    report, _ = walk(Exploding(error), text_item(COMMENT, "after"))
    assert report == {"Comment": "after", "ParseWarnings": warning}
