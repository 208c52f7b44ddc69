"""The safety net: every identifier an instance carries, hunted in whatever text the profile keeps.

Why a second line: the rules keep some text (codes, equipment names, device descriptions in SR
content, what the caller vouches for), and a name or ID typed into one of those would go out. So,
before anything changes, every person name (each component and each word of it), every ID
(of the patient, the order, the record, the device) and every address, phone number and
institution, at any depth, is collected; kept text holding one of them as a word is replaced.
Comparison folds case and accents (``Müller`` is also found as ``MULLER``), and UIDs of the original
are hunted too (one pasted into a kept text would link the copy back).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from copydicom_provider.deid.actions import KEPT_TEXT, annex_e_table, is_well_known_uid

#: Keyword endings of attributes that hold identifiers of people, orders, records or devices.
ID_KEYWORD = re.compile(r"(?:ID|IDs|Identifier|Number|Numbers|Locator)$")
#: VRs a name, an ID, an address or a place is written in.
STRING_VRS = frozenset({"AE", "LO", "LT", "SH", "ST", "UC", "UT"})
#: Identifying attributes whose keyword does not say so (Annex E lists most of them too).
IDENTIFYING = frozenset({
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "PatientAddress", "PersonAddress",
    "PatientTelephoneNumbers", "PersonTelephoneNumbers", "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers", "PatientTelecomInformation", "PersonTelecomInformation",
    "RegionOfResidence", "PatientInstitutionResidence", "StationName", "IssuerOfPatientID", "StudyID",
    "OrderEnteredBy", "OrderEntererLocation", "CurrentPatientLocation", "RequestingService",
})
#: Annex E attributes that describe (a protocol, a reason, a finding) rather than identify: their whole
#: values are not hunted elsewhere (a StudyDescription "CHEST" would blank every code meaning "Chest"),
#: though the names in them are, and they are replaced where they stand.
DESCRIPTIVE = re.compile(r"Description|Comment|Protocol|Reason|Diagnos|History|Label|Text|Notes|Impression"
                         r"|Finding|Interpretation|Allerg|Alert|Occupation|Religio|Smoking|Ethnic|Trial|Status|DocumentTitle"
                         r"|Kernel|Method|Technique")
#: Letters NFKD does not take apart, written without their marks (Ødegård is also Odegard).
PLAIN_LETTERS = str.maketrans({"Ø": "O", "ø": "o", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ł": "L", "ł": "l",
                               "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "TH", "þ": "th", "Ħ": "H", "ħ": "h",
                               "\u0131": "i", "ß": "ss"})  # U+0131: the dotless i
#: Separators an ID is also written without (MRN-77123 as MRN77123).
ID_SEPARATORS = re.compile(r"[-_./ ]")
#: Shortest fragment hunted: two letters (``Li``, ``Ng``); one where the script writes names in
#: single characters (CJK).
MIN_FRAGMENT = 2


def fold(text: str) -> str:
    """Case- and accent-free form used for every comparison."""
    decomposed = unicodedata.normalize("NFKD", text.translate(PLAIN_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().upper()


def values(element: DataElement) -> list[str]:
    """An element's values as text (a multi-valued element gives each; bytes are not text)."""
    value = element.value
    if value is None or value == "" or element.VR == "SQ":
        return []
    items = list(value) if isinstance(value, (list, MultiValue)) else [value]
    return [str(item) for item in items if not isinstance(item, (bytes, bytearray))]


def collect(dataset: Dataset, retained: frozenset[str] = frozenset()) -> set[str]:
    """Folded identifiers of ``dataset`` at every depth: names and their parts, IDs, places, UIDs.

    ``retained`` names attributes the profile keeps on purpose (device identity, patient
    characteristics, the caller's ``keep``): their values are not hunted. An element whose value
    cannot be read is passed over here; the walker removes it.
    """
    table = annex_e_table()
    found: set[str] = set()
    for element in _elements(dataset):
        keyword = element.keyword or ""
        if element.tag.is_private or keyword in retained or keyword in KEPT_TEXT:
            continue
        try:
            if element.VR == "UI":
                found.update(v for v in values(element) if v and not is_well_known_uid(keyword, v))
            elif element.VR == "PN":
                for name in values(element):
                    found.update(_name_parts(name))
            elif element.VR in STRING_VRS and _identifies(element, keyword, table):
                for value in values(element):
                    found.add(value.strip())
                    found.add(ID_SEPARATORS.sub("", value.strip()))
        except Exception:
            continue
    return {fold(value) for value in found if _long_enough(value)}


def _identifies(element: DataElement, keyword: str, table: dict) -> bool:
    if keyword in IDENTIFYING or ID_KEYWORD.search(keyword):
        return True
    return element.tag in table and not DESCRIPTIVE.search(keyword)


def pattern(identifiers: set[str], shortest: int = MIN_FRAGMENT) -> re.Pattern[str] | None:
    """One expression finding any identifier (of ``shortest`` characters or more) as a whole word of a folded text."""
    identifiers = {i for i in identifiers if len(i) >= shortest or shortest <= MIN_FRAGMENT}
    if not identifiers:
        return None
    words = "|".join(re.escape(i) for i in sorted(identifiers, key=len, reverse=True))
    return re.compile(rf"(?<![0-9A-Z])(?:{words})(?![0-9A-Z])")


def holds_identifier(text: str, hunted: re.Pattern[str] | None) -> bool:
    return hunted is not None and hunted.search(fold(text)) is not None


def _elements(dataset: Dataset) -> Iterator[DataElement]:
    """Every element at every depth that pydicom can read; one it cannot is skipped."""
    for tag in list(dataset.keys()):
        try:
            element = dataset[tag]
            items = list(element.value or []) if element.VR == "SQ" else []
        except Exception:
            continue
        yield element
        for item in items:
            yield from _elements(item)


def _name_parts(name: str) -> set[str]:
    """A person name, its groups, its family, given and middle names, and each word of them.

    Prefixes and suffixes (``Dr``, ``Mr``, ``III``) are titles, not identifiers: hunting them would
    blank every ``MR`` modality. Hyphenated and apostrophed names give each half too.
    """
    parts = {name}
    for group in name.split("="):
        parts.add(group)
        for component in group.split("^")[:3]:
            parts.add(component)
            parts.update(re.split(r"[\s,.'-]+", component))
    return {part.strip() for part in parts}


def _long_enough(value: str) -> bool:
    if len(value) >= MIN_FRAGMENT:
        return True
    return len(value) == 1 and unicodedata.east_asian_width(value) in ("W", "F")
