"""An independent PHI audit: does a de-identified copy still hold any identifier of its original?

Independent of the de-identifier on purpose: it does not ask the profile what it did. It collects
the original's identifying values, at every depth (file meta, sequences, SR content, private
blocks), from three sources:

* every attribute the PS3.15 Annex E table lists (the table as maintained by the third-party
  ``dicom-anonymizer`` package, all actions: D, Z, X, U and their combinations);
* every person name (each component too), date (DA) and date-time (DT, its date part) anywhere;
* the text of SR TEXT items, except device descriptions (manufacturer, model, X-ray source id).

Then it walks every element of the copy and reports any value equal to or containing one of them
(case-insensitive; bytes values decoded), and any private attribute at all. Times of day (TM) are
not hunted: the profile shifts whole days, and a time without its date identifies no one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag

#: SR TEXT concepts that describe the device, not the patient.
DEVICE_DESCRIPTION_CONCEPTS = {"121014", "121015", "113832"}
DEVICE_IDENTITY_TAGS = {Tag("StationName"), Tag("DeviceSerialNumber")}
DEVICE_IDENTITY_CONCEPTS = {"121013", "121016"}
MIN_LENGTH = 3


def annex_e_tags() -> set[BaseTag]:
    from dicomanonymizer.dicom_anonymization_databases import dicomfields_2026c as table

    return {Tag(*tag) for tag in table.ALL_TAGS if len(tag) == 2}


def _walk(dataset: Dataset, path: str = "") -> Iterator[tuple[str, Dataset, DataElement]]:
    """(path, parent, element) of every element at every depth, file meta first."""
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and not path:
        for element in meta:
            yield f"file_meta.{element.keyword or element.tag}", meta, element
    for element in dataset:
        here = f"{path}{element.keyword or element.tag}"
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


def original_identifiers(original: Dataset, *, retain_device_identity: bool = False) -> dict[str, str]:
    """Identifying value (upper case) -> where it was found in the original."""
    listed = annex_e_tags()
    found: dict[str, str] = {}
    kept_device_values: set[str] = set()

    def add(value: str, where: str) -> None:
        if len(value) >= MIN_LENGTH or (len(value) >= 2 and not value.isascii()):  # CJK names: two characters
            found.setdefault(value.upper(), where)

    for path, parent, element in _walk(original):
        if element.VR == "SQ" or element.VR == "TM":
            continue
        texts = _strings(element)
        device = element.tag in DEVICE_IDENTITY_TAGS or (
            element.keyword == "TextValue" and _concept(parent) in DEVICE_IDENTITY_CONCEPTS
        )
        if retain_device_identity and device:
            kept_device_values.update(t.upper() for t in texts)
            continue
        if element.VR == "PN":
            for text in texts:
                add(text, path)
                for part in re.split(r"[\^=]", text):
                    add(part.strip(), path)
        elif element.VR in ("DA", "DT"):
            for text in texts:
                add(text[:8], path)
        elif element.keyword == "TextValue" and _concept(parent) not in DEVICE_DESCRIPTION_CONCEPTS:
            for text in texts:
                add(text, path)
        elif element.tag in listed or element.tag.is_private:
            for text in texts:
                add(text, path)
    for value in kept_device_values:
        found.pop(value, None)
    return found


def audit(copy: Dataset, identifiers: dict[str, str]) -> list[str]:
    """Findings: each private attribute, and each value holding an original identifier."""
    findings = []
    for path, _, element in _walk(copy):
        if element.tag.is_private:
            findings.append(f"private attribute {element.tag} at {path}")
            continue
        for text in _strings(element):
            upper = text.upper()
            for identifier, where in identifiers.items():
                if identifier in upper:
                    findings.append(f"{path} = {text!r} holds the original {where} value {identifier!r}")
    return findings
