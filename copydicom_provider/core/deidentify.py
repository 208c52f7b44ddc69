"""The de-identifier: one pass over every element at every depth of a DICOM file (pydicom).

Why a walker of our own rather than Orthanc's ``/anonymize``: Orthanc applies its table to the
top level and copies kept sequences whole, so dates, names and private elements inside SR content
or nested items survive. The *table* is not ours: the per-attribute actions of PS3.15 Annex E
(D replace, Z empty, X remove, U new UID, and their combinations) come from the
``dicom-anonymizer`` package, which follows each DICOM release. The walker applies them at every
depth, then the options of :class:`~copydicom_provider.core.anonymize.AnonymizationProfile`, and
finally a safety net that blanks any remaining text containing one of the instance's own
identifiers (patient ID, name parts, accession number, ...).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

if TYPE_CHECKING:
    from copydicom_provider.core.anonymize import AnonymizationProfile

#: The edition of the Annex E table used (a module of dicom-anonymizer's databases).
ANNEX_E_EDITION = "dicomfields_2026c"
REMOVED = "REMOVED"
STRING_VRS = {"AE", "AS", "CS", "DS", "IS", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"}
DUMMY_BY_VR = {"DA": "19000101", "DT": "19000101000000", "TM": "000000", "DS": "0", "IS": "0", "AS": "000Y"}

PATIENT_ID, PATIENT_NAME = Tag("PatientID"), Tag("PatientName")
PATIENT_BIRTH_DATE = Tag("PatientBirthDate")
IDENTITY_UIDS = {Tag("StudyInstanceUID"), Tag("SeriesInstanceUID"), Tag("SOPInstanceUID")}
TEXT_VALUE, PERSON_NAME_ITEM = Tag("TextValue"), Tag("PersonName")
CONTENT_SEQUENCE = Tag("ContentSequence")
DEVICE_IDENTITY = {Tag(k) for k in ("StationName", "DeviceSerialNumber", "DeviceUID", "DetectorID", "GantryID")}
#: SR TEXT concepts kept with Retain Device Identity: Device Observer Name and Serial Number.
DEVICE_TEXT_CONCEPTS = ("121013", "121016")
PATIENT_CHARACTERISTICS = {Tag(k) for k in ("PatientSex", "PatientAge", "PatientSize", "PatientWeight")}
#: Header attributes whose values are also hunted everywhere else (the safety net).
IDENTIFYING = (
    "PatientID", "PatientName", "AccessionNumber", "OtherPatientIDs", "PatientBirthDate", "InstitutionName",
    "InstitutionAddress", "ReferringPhysicianName", "PatientAddress", "PatientTelephoneNumbers",
    "PatientMotherBirthName", "OperatorsName", "PerformingPhysicianName", "StudyID", "IssuerOfPatientID",
)
#: The parts of a coded entry: vocabulary, never hunted (a name that is also a word would blank codes).
CODE_PARTS = {Tag(k) for k in ("CodeValue", "CodingSchemeDesignator", "CodingSchemeVersion", "CodeMeaning")}
#: Shortest identifier fragment hunted in free text (shorter parts, like "Dr", match too much);
#: two characters for non-ASCII ones (many CJK names have two).
MIN_FRAGMENT = 3
DATE_VALUE = re.compile(r"^(\d{8})(.*)$")


@lru_cache(maxsize=1)
def annex_e_actions() -> dict[BaseTag, str]:
    """Tag -> Annex E action, from dicom-anonymizer's table (``D``, ``Z``, ``X``, ``U`` and combinations)."""
    from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector

    table = dicom_anonymization_database_selector(ANNEX_E_EDITION)
    actions: dict[BaseTag, str] = {}
    for category, tags in table.items():
        if category == "ALL_TAGS":
            continue
        for tag in tags:
            if len(tag) == 2:  # three entries are masks (curves 50xx, overlay data and comments 60xx): see _draws
                actions[Tag(*tag)] = category.removesuffix("_TAGS")
    return actions


def simple_action(action: str) -> str:
    """The action taken for a combination: removal wins (X_*), then emptying (Z_D), else the action itself."""
    if action.startswith("X"):
        return "X"
    if action == "Z_D":
        return "Z"
    return action


@dataclass
class _Context:
    profile: AnonymizationProfile
    patient_id: str
    shift: timedelta
    identifiers: set[str] = field(default_factory=set)
    hunted: re.Pattern[str] | None = None


def deidentify_file(data: bytes, profile: AnonymizationProfile) -> bytes:
    """Read a Part 10 file, de-identify it at every depth, write it back (same transfer syntax)."""
    dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    deidentify_dataset(dataset, profile)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def deidentify_dataset(dataset: Dataset, profile: AnonymizationProfile) -> Dataset:
    """De-identify ``dataset`` in place (file meta rebuilt) and return it."""
    patient_id = str(dataset.get("PatientID", "") or "")
    context = _Context(profile, patient_id, timedelta(days=profile.date_shift_days(patient_id)))
    context.identifiers = _identifiers(dataset)
    if context.identifiers:
        words = "|".join(re.escape(i) for i in sorted(context.identifiers, key=len, reverse=True))
        context.hunted = re.compile(rf"(?<![0-9A-Z])(?:{words})(?![0-9A-Z])")
    transfer_syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    _clean(dataset, context, top=True)
    _mark(dataset, profile)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax or pydicom.uid.ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    dataset.file_meta = meta
    return dataset


def _identifiers(dataset: Dataset) -> set[str]:
    """The instance's own identifying strings (and each part of a name), hunted in what is kept."""
    found: set[str] = set()
    for keyword in IDENTIFYING:
        for value in _values(dataset.get(keyword)):
            text = str(value).strip()
            found.add(text)
            found.update(part.strip() for part in re.split(r"[\^=]", text))
    return {value.upper() for value in found if len(value) >= MIN_FRAGMENT or (len(value) >= 2 and not value.isascii())}


def _values(value: object) -> list[object]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, (list, MultiValue)) else [value]


def _clean(dataset: Dataset, context: _Context, top: bool = False) -> None:
    actions = annex_e_actions()
    profile = context.profile
    content_item = "ValueType" in dataset
    for tag in list(dataset.keys()):
        element = dataset[tag]
        if tag.is_private or tag.group == 0x0002 or _draws(tag):
            del dataset[tag]  # private at any depth; file meta is rebuilt
            continue
        if tag == PATIENT_ID:
            element.value = profile.pseudonym(context.patient_id) if top else profile.pseudonym(str(element.value or ""))
            continue
        if tag == PATIENT_NAME:
            element.value = profile.pseudonym(context.patient_id) if top else REMOVED
            continue
        if tag in IDENTITY_UIDS or element.VR == "UI" and actions.get(tag) == "U":
            _replace_uids(element, profile)
            continue
        if element.keyword in profile.keep:
            continue
        if profile.retain_device_identity and tag in DEVICE_IDENTITY:
            continue
        if profile.retain_patient_characteristics and tag in PATIENT_CHARACTERISTICS:
            continue
        if tag == PATIENT_BIRTH_DATE:
            element.value = ""
            continue
        if element.VR == "SQ":
            _clean_sequence(dataset, element, actions.get(tag), context)
            continue
        if element.VR in ("DA", "DT", "TM") and profile.shift_dates:
            if element.VR != "TM":
                element.value = _shifted(element, context.shift)
            continue
        if content_item and profile.clean_structured_content and tag in (TEXT_VALUE, PERSON_NAME_ITEM):
            kept = tag == TEXT_VALUE and _concept(dataset) in _kept_text_concepts(profile)
            if not kept or _contains_identifier(element, context.hunted):
                element.value = REMOVED
            continue
        if element.VR == "PN" and tag not in actions:  # a person's name the table does not list: still a name
            element.value = REMOVED if element.value else ""
            continue
        action = simple_action(actions.get(tag, ""))
        if action == "X":
            del dataset[tag]
        elif action == "Z":
            element.value = ""
        elif action == "D":
            element.value = DUMMY_BY_VR.get(element.VR, REMOVED) if element.VR in STRING_VRS | set(DUMMY_BY_VR) else None
        elif element.VR in STRING_VRS and tag not in CODE_PARTS and _contains_identifier(element, context.hunted):
            element.value = REMOVED  # the safety net: an identifier copied into an attribute the table keeps


def _clean_sequence(dataset: Dataset, element: DataElement, action: str | None, context: _Context) -> None:
    """Recurse into a kept sequence; the table's action decides whether it is kept."""
    if element.tag == CONTENT_SEQUENCE and context.profile.clean_structured_content:
        action = None
    simple = simple_action(action or "")
    if simple == "X":
        del dataset[element.tag]
        return
    if simple in ("Z", "D"):
        element.value = Sequence([])
        return
    for item in element.value or []:
        _clean(item, context)


def _draws(tag: BaseTag) -> bool:
    """Curve data (50xx) and overlay data or comments (60xx,3000/4000): they may draw or spell a name."""
    return 0x5000 <= tag.group <= 0x50FF or (0x6000 <= tag.group <= 0x60FF and tag.element in (0x3000, 0x4000))


def _replace_uids(element: DataElement, profile: AnonymizationProfile) -> None:
    values = [profile.uid(str(v)) if str(v) else "" for v in _values(element.value)]
    element.value = values[0] if len(values) == 1 else values


def _shifted(element: DataElement, shift: timedelta) -> str | list[str]:
    """DA/DT values moved back by the patient's shift; what cannot be read as a full date is emptied."""
    shifted = []
    for value in _values(element.value):
        text = str(value).strip()
        match = DATE_VALUE.match(text)
        if not match or "-" in match.group(2)[:1]:  # partial dates and ranges: no safe shift
            shifted.append("")
            continue
        try:
            day = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            shifted.append("")
            continue
        shifted.append((day - shift).strftime("%Y%m%d") + match.group(2))
    if not shifted:
        return ""
    return shifted[0] if len(shifted) == 1 else shifted


def _concept(item: Dataset) -> str:
    names = item.get("ConceptNameCodeSequence") or []
    return str(names[0].get("CodeValue", "")) if names else ""


def _kept_text_concepts(profile: AnonymizationProfile) -> tuple[str, ...]:
    extra = DEVICE_TEXT_CONCEPTS if profile.retain_device_identity else ()
    return (*profile.keep_text_concepts, *extra)


def _contains_identifier(element: DataElement, hunted: re.Pattern[str] | None) -> bool:
    """Whether a value holds one of the instance's identifiers as a whole word (or is one)."""
    return hunted is not None and any(hunted.search(str(value).upper()) for value in _values(element.value))


def _mark(dataset: Dataset, profile: AnonymizationProfile) -> None:
    """Record what was done (PS3.15 E.1.1, CID 7050)."""
    methods = [("113100", "Basic Application Confidentiality Profile")]
    if profile.clean_structured_content:
        methods.append(("113104", "Clean Structured Content Option"))
    if profile.shift_dates:
        methods.append(("113107", "Retain Longitudinal Temporal Information Modified Dates Option"))
    if profile.retain_patient_characteristics:
        methods.append(("113108", "Retain Patient Characteristics Option"))
    if profile.retain_device_identity:
        methods.append(("113109", "Retain Device Identity Option"))
    codes = []
    for value, meaning in methods:
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, "DCM", meaning
        codes.append(code)
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = "PS3.15 Annex E basic profile, options " + "/".join(v for v, _ in methods[1:])
    dataset.DeidentificationMethodCodeSequence = Sequence(codes)
    dataset.LongitudinalTemporalInformationModified = "MODIFIED" if profile.shift_dates else "REMOVED"
