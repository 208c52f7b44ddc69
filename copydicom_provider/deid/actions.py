"""What each attribute becomes: PS3.15 Annex E's table, resolved so that copies stay valid objects.

The table is not ours: ``dicom-anonymizer`` maintains it from each DICOM release. Its combined
actions leave the choice to the implementer "as the IOD allows"; the walker cannot know each
attribute's Type in each IOD, so it takes the choice that is valid for every Type and still safe:

* ``X/Z`` becomes Z (emptied): Type 2 attributes such as ReferencedStudySequence stay;
* ``X/D``, ``X/Z/D`` and ``Z/D`` become D (a dummy of the right VR; a sequence keeps its items,
  cleaned): Type 1 attributes stay;
* ``X/Z/U*`` becomes U (the sequence is kept, its UIDs remapped): a presentation state still says
  which image it applies to.

Attributes the table does not list follow the Clean Descriptors option strictly: every free-text
element not on :data:`KEPT_TEXT` gets a dummy (it may be Type 1, so it is never left empty).
"""

from __future__ import annotations

from enum import Enum
from functools import lru_cache

from pydicom.tag import BaseTag, Tag

#: The edition of the Annex E table used (a module of dicom-anonymizer's databases).
ANNEX_E_EDITION = "dicomfields_2026c"


class Action(Enum):
    REMOVE = "X"
    EMPTY = "Z"
    DUMMY = "D"
    REMAP = "U"


RESOLVED = {
    "X": Action.REMOVE, "Z": Action.EMPTY, "D": Action.DUMMY, "U": Action.REMAP,
    "X_Z": Action.EMPTY, "X_D": Action.DUMMY, "X_Z_D": Action.DUMMY, "Z_D": Action.DUMMY,
    "X_Z_U_STAR": Action.REMAP,
}
#: X attributes that some IOD makes Type 2 (RequestedProcedureID in a Referenced Request Sequence of an SR
#: or a KOS): emptied instead, which is as safe and keeps the object valid.
TYPE_2_SOMEWHERE = {Tag("RequestedProcedureID"): Action.EMPTY}
#: Free-text VRs: each value is a possible carrier of a name, an ID or a date.
TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC", "PN", "AE", "UR"})
#: The parts of a coded entry.
CODE_PARTS = frozenset({"CodeValue", "CodeMeaning", "LongCodeValue", "URNCodeValue"})
#: Code values and scheme names: never date-shifted (``19801005`` may be a code), still hunted.
NOT_DATED = frozenset({"CodeValue", "LongCodeValue", "URNCodeValue", "CodingSchemeDesignator", "CodingSchemeVersion"})
#: Names of coding schemes.
SCHEME_PARTS = frozenset({"CodingSchemeDesignator", "CodingSchemeVersion", "CodingSchemeName", "MappingResourceName"})
#: Text attributes kept (coded or enumerated values, equipment type); the safety net still hunts them.
KEPT_TEXT = CODE_PARTS | SCHEME_PARTS | frozenset({
    "Manufacturer", "ManufacturerModelName", "RescaleType", "ImagedNucleus", "FilterType", "StackID",
    "TimezoneOffsetFromUTC", "DeidentificationMethod",
})
#: UI attributes that name a definition from a registry (a class, a syntax, a coding scheme), not an instance.
DEFINITION_UIDS = frozenset({
    "SOPClassUID", "ReferencedSOPClassUID", "MediaStorageSOPClassUID", "AffectedSOPClassUID", "RequestedSOPClassUID",
    "ReferencedSOPClassUIDInFile", "SOPClassesInStudy", "TransferSyntaxUID", "ReferencedTransferSyntaxUIDInFile",
    "CodingSchemeUID", "ContextUID", "MappingResourceUID", "ImplementationClassUID", "PrivateRecordUID",
    "RelatedGeneralSOPClassUID", "OriginalSpecializedSOPClassUID", "SOPClassesSupported",
})
#: Where an instance is to be fetched from (and often the archive's host name): removed.
RETRIEVE_LOCATIONS = frozenset({
    "RetrieveLocationUID", "RetrieveURL", "RetrieveURI", "RetrieveAETitle", "DICOMRetrievalSequence",
    "DICOMMediaRetrievalSequence", "WADORetrievalSequence", "XDSRetrievalSequence", "WADORSRetrievalSequence",
})
#: Dates about the patient rather than an event: Annex E's action, never a shift (the shift would keep the
#: exact age at every exam).
NOT_SHIFTED = frozenset({"PatientBirthDate", "PatientBirthTime"})
#: The DICOM registry's root: every UID under it is well known (classes, syntaxes, frames of reference).
REGISTRY_ROOT = "1.2.840.10008."
#: UR's dummy is the nil UUID's URN (RFC 4122): a valid URI (a Type 1 UR stays valid) that locates nothing.
DUMMY_BY_VR = {"DA": "19000101", "DT": "19000101000000", "TM": "000000", "DS": "0", "IS": "0", "AS": "000Y",
               "CS": "REMOVED", "UR": "urn:uuid:00000000-0000-0000-0000-000000000000", "UI": "2.25.0"}
DUMMY_TEXT = "REMOVED"


@lru_cache(maxsize=1)
def annex_e_table() -> dict[BaseTag, Action]:
    """Tag -> resolved action, from dicom-anonymizer's table; mask entries (50xx, 60xx) are the walker's."""
    from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector

    table = dicom_anonymization_database_selector(ANNEX_E_EDITION)
    actions: dict[BaseTag, Action] = {}
    for category, tags in table.items():
        if category == "ALL_TAGS":
            continue
        for tag in tags:
            if len(tag) == 2:
                actions[Tag(*tag)] = RESOLVED[category.removesuffix("_TAGS")]
    return actions | TYPE_2_SOMEWHERE


def dummy(vr: str) -> str:
    """A value of ``vr`` that means nothing and is valid wherever the attribute is Type 1."""
    return DUMMY_BY_VR.get(vr, DUMMY_TEXT)


def is_well_known_uid(keyword: str, value: str) -> bool:
    """A UID kept as it is: from the standard's registry, or naming a class, syntax or coding scheme."""
    return keyword in DEFINITION_UIDS or value.startswith(REGISTRY_ROOT)
