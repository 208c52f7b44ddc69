"""The de-identifier: one pass over every element at every depth of a DICOM file (pydicom).

Why a walker of our own rather than Orthanc's ``/anonymize``: Orthanc applies its table to the
top level and copies kept sequences whole, so dates, names and private elements inside SR content
or nested items survive. Each element meets, in order: removal of what may draw or hide text
(private attributes, overlays and curves as whole groups); the pseudonyms; every UID remapped
unless well known; the profile's retain options; every date shifted; the Annex E table, resolved
so the copy stays valid (:mod:`.actions`); every other free text replaced (Clean Descriptors);
and in the text that is kept, dates shifted and the instance's own identifiers hunted
(:mod:`.identifiers`). An element that cannot be read or changed is replaced or removed and
reported by keyword and path, never by value; an instance that cannot be made safe at all raises
:class:`CannotDeidentify`, and is withheld.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from dataclasses import dataclass, field
from datetime import timedelta

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

from copydicom_provider.deid.actions import (
    CODE_PARTS,
    KEPT_TEXT,
    NOT_DATED,
    NOT_SHIFTED,
    RETRIEVE_LOCATIONS,
    TEXT_VRS,
    Action,
    annex_e_table,
    dummy,
    is_well_known_uid,
)
from copydicom_provider.deid.dates import shift_in_text, shift_value
from copydicom_provider.deid.identifiers import collect, holds_identifier, pattern, values
from copydicom_provider.deid.identity import Identity
from copydicom_provider.deid.options import DeidOptions
from copydicom_provider.deid.pixels import embedded_text

DEVICE_IDENTITY = frozenset({"StationName", "DeviceSerialNumber", "DeviceUID", "DetectorID", "GantryID"})
#: SR TEXT concepts kept with Retain Device Identity: Device Observer Name and Serial Number.
DEVICE_TEXT_CONCEPTS = ("121013", "121016")
#: Code sequences whose codes name an organisation (people's end in IdentificationCodeSequence).
CODED_IDENTITIES = frozenset({"InstitutionCodeSequence"})
#: A TM value (HHMMSS.FFFFFF, or the old HH:MM:SS): anything else in a TM (a vendor's date-time) is replaced.
TIME_VALUE = re.compile(r"^\d{2}(?::?\d{2}(?::?\d{2}(?:\.\d{1,6})?)?)?$")
PATIENT_CHARACTERISTICS = frozenset({"PatientSex", "PatientAge", "PatientSize", "PatientWeight"})
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN", "AT", "UR"})
NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "UV", "SV"})
#: Option codes of CID 7050, in the order they are recorded.
METHOD_CODES = {
    "basic": ("113100", "Basic Application Confidentiality Profile"),
    "graphics": ("113103", "Clean Graphics Option"),
    "structured": ("113104", "Clean Structured Content Option"),
    "descriptors": ("113105", "Clean Descriptors Option"),
    "dates": ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    "patient": ("113108", "Retain Patient Characteristics Option"),
    "device": ("113109", "Retain Device Identity Option"),
}

#: pydicom quotes an invalid value when it reads one ("Invalid value for VR DA: '19610723'"): in a
#: worker's log that is a patient's date. The value is dropped from both channels pydicom uses.
INVALID_VALUE = r"Invalid value for VR"


class _NoQuotedValues(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Invalid value for VR")


logging.getLogger("pydicom").addFilter(_NoQuotedValues())
warnings.filterwarnings("ignore", message=INVALID_VALUE, category=UserWarning)


class CannotDeidentify(Exception):
    """This instance cannot be made safe; the message names the element (never its value)."""


@dataclass
class _Walk:
    profile: DeidOptions
    identity: Identity
    shift: timedelta
    hunted: re.Pattern[str] | None
    retained: frozenset[str]
    #: The same hunt in code strings (three characters and up) and numbers (five and up): shorter ones
    #: would blank every ``CT`` and every instance number.
    hunted_in_codes: re.Pattern[str] | None = None
    hunted_in_numbers: re.Pattern[str] | None = None
    notes: list[str] = field(default_factory=list)


def deidentify_file(data: bytes, profile: DeidOptions, notes: list[str] | None = None) -> bytes:
    """Read a Part 10 file, de-identify it at every depth, write it back (same transfer syntax).

    ``notes`` receives one line per element that had to be replaced or removed for want of a
    readable value (keyword and path only).
    """
    dataset = pydicom.dcmread(io.BytesIO(data), force=True)
    deidentify_dataset(dataset, profile, notes)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def deidentify_dataset(dataset: Dataset, profile: DeidOptions, notes: list[str] | None = None) -> Dataset:
    """De-identify ``dataset`` in place (file meta rebuilt) and return it."""
    identity = Identity(_raw(dataset, "PatientID"), _raw(dataset, "StudyInstanceUID"), "", "",
                        _raw(dataset, "IssuerOfPatientID"))
    retained = frozenset(profile.keep) | (DEVICE_IDENTITY if profile.retain_device_identity else frozenset()) | (
        PATIENT_CHARACTERISTICS if profile.retain_patient_characteristics else frozenset())
    identifiers = collect(dataset, retained)
    walk = _Walk(profile, identity, timedelta(days=profile.date_shift_days(identity.patient_key)),
                 pattern(identifiers), retained, pattern(identifiers, 3), pattern(identifiers, 5))
    dataset.preamble = bytes(128)  # a preamble is the writer's, and may hold anything
    transfer_syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    _clean(dataset, walk, "", top=True)
    _mark(dataset, profile)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax or pydicom.uid.ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    dataset.file_meta = meta
    if notes is not None:
        notes.extend(walk.notes)
    return dataset


def _raw(dataset: Dataset, keyword: str) -> str:
    """A value as Orthanc reads it: several values joined by backslashes (a PatientID ``MRN\\77123``)."""
    value = dataset.get(keyword, "")
    if isinstance(value, (list, MultiValue)):
        return "\\".join(str(v) for v in value)
    return str(value or "")


def _clean(dataset: Dataset, walk: _Walk, path: str, top: bool = False) -> None:
    for tag in list(dataset.keys()):
        try:
            element = dataset[tag]
            here = f"{path}{element.keyword or tag}"
        except Exception as error:  # a value pydicom cannot even read: nothing of it may go out
            _drop(dataset, tag, f"{path}{tag}", walk, f"unreadable ({type(error).__name__})")
            continue
        try:
            _element(dataset, element, walk, here, top)
        except CannotDeidentify:
            raise
        except Exception as error:  # one odd value never fails its instance: it goes, and is reported
            _drop(dataset, tag, here, walk, f"could not be de-identified ({type(error).__name__})")


def _element(dataset: Dataset, element: DataElement, walk: _Walk, here: str, top: bool) -> None:
    tag, keyword, vr, profile = element.tag, element.keyword, element.VR, walk.profile
    if _removed_whole(tag) or vr == "UN":
        del dataset[tag]
        return
    if keyword == "EncapsulatedDocument":
        raise CannotDeidentify(f"{here}: an encapsulated document cannot be de-identified")
    if keyword == "PixelData":
        if found := embedded_text(dataset, element):
            raise CannotDeidentify(f"{here}: {found}")
        return
    if keyword in ("PatientID", "PatientName"):
        element.value = _patient_pseudonym(dataset, element, walk, top)
        return
    if keyword in walk.retained:
        if vr == "SQ":
            _sequence(dataset, element, None, walk, here)  # kept, but its items are cleaned like the rest
        elif vr in TEXT_VRS and keyword in profile.keep:
            _keep_text(element, walk)
        return
    if keyword in RETRIEVE_LOCATIONS:
        del dataset[tag]
        return
    if vr == "UI":
        _remap(element, profile)
        return
    action = annex_e_table().get(tag)
    if vr == "SQ":
        _sequence(dataset, element, action, walk, here)
        return
    if keyword in NOT_SHIFTED and action is not None:
        _apply(dataset, element, action, profile)
        return
    if vr in ("DA", "DT"):
        _date(element, action, walk, here)
        return
    if vr == "TM":
        _time(element, walk, here)  # whole days move: a time of day identifies no one, but only a time is one
        return
    if "ValueType" in dataset and keyword in ("TextValue", "PersonName"):
        _content_text(dataset, element, walk)
        return
    if action is not None:
        _apply(dataset, element, action, profile)
    elif vr in TEXT_VRS:
        if keyword in KEPT_TEXT:
            _keep_text(element, walk)
        elif values(element):
            _replace(dataset, element)
    elif vr == "CS":
        _hunt(dataset, element, walk.hunted_in_codes)
    elif vr in ("IS", "DS"):
        _hunt(dataset, element, walk.hunted_in_numbers)


def _removed_whole(tag: BaseTag) -> bool:
    """Private attributes, file meta (rebuilt), group lengths, and whole curve and overlay groups."""
    return (tag.is_private or tag.group == 0x0002 or tag.element == 0x0000
            or 0x5000 <= tag.group <= 0x50FF or 0x6000 <= tag.group <= 0x60FF)


def _patient_pseudonym(dataset: Dataset, element: DataElement, walk: _Walk, top: bool) -> str:
    """The patient's pseudonym at the top level; nested, a PatientID gets its own, a name a dummy."""
    if top:
        return walk.profile.pseudonym(walk.identity.patient_key)
    if not values(element):
        return ""
    if element.keyword == "PatientName":
        return dummy("PN")
    issuer = str(dataset.get("IssuerOfPatientID", "") or "")
    nested = Identity(str(element.value), walk.identity.study_uid, "", "", issuer)
    return walk.profile.pseudonym(nested.patient_key)


def _remap(element: DataElement, profile: DeidOptions) -> None:
    keyword = element.keyword
    new = [v if not v or is_well_known_uid(keyword, v) else profile.uid(v) for v in values(element)]
    element.value = new[0] if len(new) == 1 else new


def _sequence(dataset: Dataset, element: DataElement, action: Action | None, walk: _Walk, here: str) -> None:
    """Removed where the table says X; otherwise its items are kept, cleaned like the rest.

    Z (and X/Z) keep the items too: an emptied sequence is invalid where the attribute is Type 3
    (items 1-n), a cleaned item is valid wherever it is, and nothing identifying is left in it.
    """
    if action is Action.REMOVE:
        del dataset[element.tag]
    else:
        for index, item in enumerate(element.value or []):
            _clean(item, walk, f"{here}[{index}].")
            if element.keyword in CODED_IDENTITIES or element.keyword.endswith("IdentificationCodeSequence"):
                _blank_codes(item)  # a person's or an organisation's ID written as a code


def _blank_codes(item: Dataset) -> None:
    for keyword in CODE_PARTS & set(item.dir()):
        element = item[keyword]
        _replace(item, element)


def _date(element: DataElement, action: Action | None, walk: _Walk, here: str) -> None:
    if not walk.profile.shift_dates:
        element.value = dummy(element.VR) if values(element) and action is not Action.EMPTY else ""
        return
    shifted = []
    for value in values(element):
        moved = shift_value(value, walk.shift)
        if moved is None:
            walk.notes.append(f"{here}: a {element.VR} value that cannot be shifted was replaced by a dummy")
            moved = dummy(element.VR)
        shifted.append(moved)
    element.value = "" if not shifted else shifted[0] if len(shifted) == 1 else shifted


def _time(element: DataElement, walk: _Walk, here: str) -> None:
    found = values(element)
    if all(TIME_VALUE.match(value.strip()) or not value.strip() for value in found):
        return
    walk.notes.append(f"{here}: a TM value that is not a time of day was replaced by a dummy")
    element.value = dummy("TM") if len(found) == 1 else [dummy("TM")] * len(found)


def _content_text(item: Dataset, element: DataElement, walk: _Walk) -> None:
    """SR content: a TEXT value is kept only for device-description concepts, a PNAME never."""
    profile = walk.profile
    kept = (*profile.keep_text_concepts, *(DEVICE_TEXT_CONCEPTS if profile.retain_device_identity else ()))
    if element.keyword == "TextValue" and profile.clean_structured_content and _concept(item) in kept:
        # a DCM concept only: a vendor's scheme may give a clinical note the same code value
        _keep_text(element, walk)
    elif values(element):
        _replace(item, element)


def _apply(dataset: Dataset, element: DataElement, action: Action, profile: DeidOptions) -> None:
    if action is Action.REMOVE:
        del dataset[element.tag]
    elif action is Action.EMPTY:
        element.value = ""
    elif action is Action.REMAP:
        _remap(element, profile)
    elif values(element) or element.VR in TEXT_VRS:
        _replace(dataset, element)


def _replace(dataset: Dataset, element: DataElement) -> None:
    """A dummy of the element's VR (valid where it is Type 1); binary values and URLs go."""
    if element.VR in BINARY_VRS:
        del dataset[element.tag]
    else:
        element.value = 0 if element.VR in NUMBER_VRS else dummy(element.VR)


def _hunt(dataset: Dataset, element: DataElement, hunted: re.Pattern[str] | None) -> None:
    """A code or number string is kept, unless one of the instance's identifiers was typed into it."""
    if any(holds_identifier(value, hunted) for value in values(element)):
        _replace(dataset, element)


def _keep_text(element: DataElement, walk: _Walk) -> None:
    """Kept text: dates in it shifted (or removed), and replaced whole if it holds an identifier."""
    shift = walk.shift if walk.profile.shift_dates else None
    kept = []
    for value in values(element):
        text = value if element.keyword in NOT_DATED else shift_in_text(value, shift)
        kept.append(dummy(element.VR) if holds_identifier(text, walk.hunted) else text)
    if kept:
        element.value = kept[0] if len(kept) == 1 else kept


def _drop(dataset: Dataset, tag: BaseTag, here: str, walk: _Walk, why: str) -> None:
    try:
        del dataset[tag]
    except Exception:
        raise CannotDeidentify(f"{here}: {why}, and it could not be removed") from None
    walk.notes.append(f"{here}: {why}; removed")


def _concept(item: Dataset) -> str:
    """The item's concept code value, when the concept is one of DICOM's own (scheme DCM)."""
    names = item.get("ConceptNameCodeSequence") or []
    if not names or str(names[0].get("CodingSchemeDesignator", "")).strip() != "DCM":
        return ""
    return str(names[0].get("CodeValue", ""))


def _mark(dataset: Dataset, profile: DeidOptions) -> None:
    """Record what was done (PS3.15 E.1.1, CID 7050)."""
    options = ["basic", "graphics", "descriptors"]
    options += ["structured"] if profile.clean_structured_content else []
    options += ["dates"] if profile.shift_dates else []
    options += ["patient"] if profile.retain_patient_characteristics else []
    options += ["device"] if profile.retain_device_identity else []
    codes = []
    for option in options:
        code = Dataset()
        code.CodeValue, code.CodeMeaning = METHOD_CODES[option]
        code.CodingSchemeDesignator = "DCM"
        codes.append(code)
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = ["PS3.15 Annex E", *(f"option {METHOD_CODES[o][0]}" for o in options[1:])]
    dataset.DeidentificationMethodCodeSequence = Sequence(codes)
    dataset.LongitudinalTemporalInformationModified = "MODIFIED" if profile.shift_dates else "REMOVED"
