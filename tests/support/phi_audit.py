"""An independent PHI audit: does a de-identified copy still hold any identifier of its original?

Independent of the de-identifier on purpose: it does not ask the profile what it did. It collects
the original's identifying values, at every depth (file meta, sequences, SR content, private
blocks), from three sources:

* every attribute the PS3.15 Annex E table lists (the table as maintained by the third-party
  ``dicom-anonymizer`` package, all actions: D, Z, X, U and their combinations);
* every person name (each component too), date (DA) and date-time (DT, its date part) anywhere;
* the text of SR TEXT items, except device descriptions (manufacturer, model, X-ray source id);
* every original UID (any UI value the DICOM registry does not list: not a SOP class, transfer
  syntax, coding scheme, well-known instance...), the host of every URL, and every date written in
  free text in a common format (``12/03/2024``, ``2024-03-12``, ``12.03.2024``, ``12 March 2024``).

Then it walks every element of the copy and reports any value equal to or containing one of them
(case- and accent-folded, so ``Odegard`` is ``Ødegård``; bytes values decoded; name parts under
three letters as whole words), any date in any text that is an original date, and any private
attribute at all. Pixel and overlay data are not read as text (the corpus test compares pixels
byte for byte). Times of day (TM) are not hunted: the profile shifts whole days, and a time
without its date identifies no one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from urllib.parse import urlsplit

from pydicom._uid_dict import UID_dictionary
from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag

#: SR TEXT concepts that describe the device, not the patient.
DEVICE_DESCRIPTION_CONCEPTS = {"121014", "121015", "113832"}
DEVICE_IDENTITY_TAGS = {Tag("StationName"), Tag("DeviceSerialNumber")}
DEVICE_IDENTITY_CONCEPTS = {"121013", "121016"}
MIN_LENGTH = 3
#: Bulk data that is not text: pixels (compared byte for byte elsewhere) and overlay bit planes.
NOT_TEXT = {Tag("PixelData"), Tag("FloatPixelData"), Tag("DoubleFloatPixelData")}
#: UIDs that name the writing software, not a patient's data.
SOFTWARE_UIDS = {Tag("ImplementationClassUID")}
#: Letters NFKD does not take apart (Ø, ß, Æ ...), spelt as people write them without accents.
LETTERS = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "đ": "d",
                         "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "\u0131": "i"})  # \u0131: dotless i
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DATE_FORMS = [  # (pattern, order of year/month/day groups)
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"), "ymd"),
    (re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)"), "ymd"),
    (re.compile(r"(?<!\d)(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?!\d)"), "dmy"),  # and m/d/y: both are taken
    (re.compile(rf"(?<!\d)(\d{{1,2}}) ({'|'.join(MONTHS)})[A-Z]*\.? (\d{{4}})(?!\d)"), "dMy"),
    (re.compile(rf"({'|'.join(MONTHS)})[A-Z]*\.? (\d{{1,2}}),? (\d{{4}})(?!\d)"), "Mdy"),
]


def fold(text: str) -> str:
    """Upper case without accents: what a person typing the name on a plain keyboard would write."""
    plain = unicodedata.normalize("NFKD", text.translate(LETTERS))
    return "".join(c for c in plain if not unicodedata.combining(c)).upper()


def _day(year: str, month: str, day: str) -> str | None:
    try:
        return date(int(year), int(month), int(day)).strftime("%Y%m%d").zfill(8)
    except ValueError:
        return None


def dates_in(text: str) -> set[str]:
    """Every date written in ``text`` (folded), as YYYYMMDD; ``12/03/2024`` gives both readings."""
    found = set()
    for pattern, order in DATE_FORMS:
        for match in pattern.finditer(text):
            a, b, c = match.groups()
            if order == "ymd":
                found.add(_day(a, b, c))
            elif order == "dmy":
                found.update((_day(c, b, a), _day(c, a, b)))
            elif order == "dMy":
                found.add(_day(c, str(MONTHS.index(b[:3]) + 1), a))
            else:
                found.add(_day(c, str(MONTHS.index(a[:3]) + 1), b))
    return {day for day in found if day}


def hosts_in(text: str) -> set[str]:
    """Host names of the URLs in ``text``."""
    hosts = set()
    for url in re.findall(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\\]+", text):
        try:
            host = urlsplit(url).hostname
        except ValueError:
            continue
        if host:
            hosts.add(fold(host))
    return hosts


class Identifiers(dict):
    """Identifying value (folded) -> where it was found in the original.

    ``dates``: every original date (YYYYMMDD) -> where; ``dates_at``: the dates of each DA/DT element by
    path. A DA/DT of the copy is compared with the original's at its own path only: a shifted date may
    land on another original date by chance (about one pair in 3652), an unshifted one stays put.
    """

    def __init__(self) -> None:
        super().__init__()
        self.dates: dict[str, str] = {}
        self.dates_at: dict[str, set[str]] = {}


def _date_forms(text: str) -> set[str]:
    """A DA/DT value's date as written (malformed ones too) and as read."""
    folded = fold(text)
    return {folded[:8], *dates_in(folded)}


def annex_e_tags() -> set[BaseTag]:
    from dicomanonymizer.dicom_anonymization_databases import dicomfields_2026c as table

    return {Tag(*tag) for tag in table.ALL_TAGS if len(tag) == 2}


def _walk(dataset: Dataset, path: str = "") -> Iterator[tuple[str, Dataset, DataElement]]:
    """(path, parent, element) of every element at every depth, file meta first."""
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and not path:
        for element in meta:
            yield f"file_meta.{element.keyword or element.tag}", meta, element
    for tag in list(dataset.keys()):
        try:
            element = dataset[tag]
        except Exception:
            continue
        here = f"{path}{element.keyword or keyword_for_tag(element.tag) or element.tag}"  # 60xx: repeaters
        yield here, dataset, element
        if element.VR == "SQ":
            for index, item in enumerate(element.value or []):
                yield from _walk(item, f"{here}[{index}].")


def _strings(element: DataElement) -> list[str]:
    value = element.value
    if value is None or value == "" or element.VR == "SQ":
        return []
    values = list(value) if isinstance(value, (list, MultiValue)) else [value]
    out = []
    for item in values:
        if isinstance(item, bytes):
            out += [item.decode("latin-1", "ignore"), item.decode("utf-8", "ignore")]
        else:
            out.append(str(item))
    return [text.strip() for text in out if text.strip()]


def _concept(item: Dataset) -> str:
    names = item.get("ConceptNameCodeSequence") or []
    return str(names[0].get("CodeValue", "")) if names else ""


def _is_bulk(element: DataElement) -> bool:
    return element.tag in NOT_TEXT or (0x6000 <= element.tag.group <= 0x60FF and element.tag.element == 0x3000)


def _names_a_class(element: DataElement) -> bool:
    """A SOP class or transfer syntax (a private class too): what the object is, not whose."""
    keyword = element.keyword or ""
    return keyword.endswith("ClassUID") or keyword.endswith("TransferSyntaxUID")


def original_identifiers(original: Dataset, *, retain_device_identity: bool = False) -> Identifiers:
    """Identifying value (folded: upper case, no accents) -> where it was found in the original."""
    listed = annex_e_tags()
    found = Identifiers()
    kept_device_values: set[str] = set()

    def add(value: str, where: str, *, name_part: bool = False) -> None:
        value = fold(value)
        shortest = 2 if name_part or not value.isascii() else MIN_LENGTH  # CJK names: two characters
        if len(value) >= shortest:
            found.setdefault(value, where)

    for path, parent, element in _walk(original):
        if element.VR == "SQ" or element.VR == "TM" or _is_bulk(element):
            continue
        texts = _strings(element)
        device = element.tag in DEVICE_IDENTITY_TAGS or (
            element.keyword == "TextValue" and _concept(parent) in DEVICE_IDENTITY_CONCEPTS
        )
        if retain_device_identity and device:
            kept_device_values.update(fold(t) for t in texts)
            continue
        if element.VR != "UI":
            for text in texts:
                for day in dates_in(fold(text)):
                    found.dates.setdefault(day, path)
                for host in hosts_in(text):
                    found.setdefault(host, f"{path} (URL host)")
        if element.VR == "UI":
            if element.tag not in SOFTWARE_UIDS and not _names_a_class(element):
                for text in texts:
                    if text not in UID_dictionary:
                        add(text, path)
        elif element.VR == "PN":
            for text in texts:
                add(text, path)
                for part in re.split(r"[\^=]", text):
                    add(part.strip(), path, name_part=True)
        elif element.VR in ("DA", "DT"):
            for text in texts:
                add(text[:8], path)
                found.dates_at.setdefault(path, set()).update(_date_forms(text))
        elif element.keyword == "TextValue" and _concept(parent) not in DEVICE_DESCRIPTION_CONCEPTS:
            for text in texts:
                add(text, path)
        elif element.tag in listed or element.tag.is_private:
            for text in texts:
                add(text, path)
    for value in kept_device_values:
        found.pop(value, None)
    return found


def _holds(text: str, identifier: str) -> bool:
    """Substring match; a short ASCII identifier (a two-letter name part) only as a whole word."""
    if len(identifier) >= MIN_LENGTH or not identifier.isascii():
        return identifier in text
    return re.search(rf"(?<![A-Z0-9]){re.escape(identifier)}(?![A-Z0-9])", text) is not None


def audit(copy: Dataset, identifiers: dict[str, str]) -> list[str]:
    """Findings: each private attribute, each value holding an original identifier, each original date in text."""
    findings = []
    dates = getattr(identifiers, "dates", {})
    dates_at = getattr(identifiers, "dates_at", None)
    for path, _, element in _walk(copy):
        if element.tag.is_private:
            findings.append(f"private attribute {element.tag} at {path}")
            continue
        if _is_bulk(element):
            continue
        if dates_at is not None and element.VR in ("DA", "DT"):
            here = dates_at.get(path, set(dates))
            findings += [f"{path} = {text!r} is the original date {day} (unshifted)"
                         for text in _strings(element) for day in sorted(_date_forms(text) & here)]
            continue
        for text in _strings(element):
            folded = fold(text)
            for identifier, where in identifiers.items():
                if _holds(folded, identifier):
                    findings.append(f"{path} = {text!r} holds the original {where} value {identifier!r}")
            if element.VR != "UI":
                for day in dates_in(folded) & dates.keys():
                    findings.append(f"{path} = {text!r} holds the original {dates[day]} date {day}")
    return findings
