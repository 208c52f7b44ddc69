"""The safety net: every identifier an instance carries, hunted in whatever text the profile keeps.

Why a second line: the rules keep some text (codes, equipment names, device descriptions in SR
content, what the caller vouches for), and a name or ID typed into one of those would go out. So,
before anything changes, every person name (each component and each word of it), every ID
(of the patient, the order, the record, the device) and every address, phone number and
institution, at any depth, is collected; kept text holding one of them as a word is replaced. Comparison folds case and accents (``Müller`` is also found as ``MULLER``), and UIDs of
the original are hunted too (one pasted into a kept text would link the copy back).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from copydicom_provider.deid.actions import KEPT_TEXT, is_well_known_uid

#: Keyword endings of attributes that hold identifiers of people, orders, records or devices.
ID_KEYWORD = re.compile(r"(?:ID|IDs|Identifier|Number|Numbers|Locator)$")
#: VRs an ID is written in (CS holds codes, never a person's identifier).
ID_VRS = frozenset({"LO", "SH", "UC", "LT", "ST"})
#: Identifying attributes whose keyword does not say so.
IDENTIFYING = frozenset({
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "PatientAddress", "PersonAddress",
    "PatientTelephoneNumbers", "PersonTelephoneNumbers", "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers", "PatientTelecomInformation", "PersonTelecomInformation",
    "RegionOfResidence", "PatientInstitutionResidence", "StationName", "IssuerOfPatientID", "StudyID",
    "OrderEnteredBy", "OrderEntererLocation", "CurrentPatientLocation", "RequestingService",
})
#: Shortest fragment hunted: two letters (``Li``, ``Ng``); one where the script writes names in
#: single characters (CJK).
MIN_FRAGMENT = 2


def fold(text: str) -> str:
    """Case- and accent-free form used for every comparison."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().upper()


def values(element: DataElement) -> list[str]:
    """An element's values as text (a multi-valued element gives each; bytes are not text)."""
    value = element.value
    if value is None or value == "" or element.VR == "SQ":
        return []
    items = list(value) if isinstance(value, (list, MultiValue)) else [value]
    return [str(item) for item in items if not isinstance(item, (bytes, bytearray))]


def collect(dataset: Dataset, retained: frozenset[str] = frozenset()) -> set[str]:
    """Folded identifiers of ``dataset`` at every depth: names and their parts, IDs, addresses, UIDs.

    ``retained`` names attributes the profile keeps on purpose (device identity, patient
    characteristics, the caller's ``keep``): their values are not hunted.
    """
    found: set[str] = set()
    for element in _elements(dataset):
        keyword = element.keyword or ""
        if element.tag.is_private or keyword in retained or keyword in KEPT_TEXT:
            continue
        if element.VR == "UI":
            found.update(v for v in values(element) if v and not is_well_known_uid(keyword, v))
        elif element.VR == "PN":
            for name in values(element):
                found.update(_name_parts(name))
        elif keyword in IDENTIFYING or element.VR in ID_VRS and ID_KEYWORD.search(keyword):
            found.update(v.strip() for v in values(element))
    return {fold(value) for value in found if _long_enough(value)}


def pattern(identifiers: set[str]) -> re.Pattern[str] | None:
    """One expression finding any identifier as a whole word of a folded text."""
    if not identifiers:
        return None
    words = "|".join(re.escape(i) for i in sorted(identifiers, key=len, reverse=True))
    return re.compile(rf"(?<![0-9A-Z])(?:{words})(?![0-9A-Z])")


def holds_identifier(text: str, hunted: re.Pattern[str] | None) -> bool:
    return hunted is not None and hunted.search(fold(text)) is not None


def _elements(dataset: Dataset) -> Iterator[DataElement]:
    for element in dataset:
        yield element
        if element.VR == "SQ":
            for item in element.value or []:
                yield from _elements(item)


def _name_parts(name: str) -> set[str]:
    """A person name, its component groups, its components and the words of each."""
    parts = {name}
    for group in name.split("="):
        parts.add(group)
        for component in group.split("^"):
            parts.add(component)
            parts.update(component.replace(",", " ").replace(".", " ").split())
    return {part.strip() for part in parts}


def _long_enough(value: str) -> bool:
    if len(value) >= MIN_FRAGMENT:
        return True
    return len(value) == 1 and unicodedata.east_asian_width(value) in ("W", "F")
