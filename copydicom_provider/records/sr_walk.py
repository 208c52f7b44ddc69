"""The content tree of a dose report -> fields of the report record and one record per irradiation event.

Content items become keys through the table in :mod:`.concepts`; containers only group: an event
container (TID 10013 "CT Acquisition", TID 10003 "Irradiation Event X-Ray Data") opens a record of
its own and holds everything below it, the report record everything else. What each value type
becomes is described in :mod:`.dose`. An item that cannot be read is skipped and named in the
``ParseWarnings`` of its record, by content path (``1.12.6.3``: root, 12th child, ...) and reason.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from pydicom.multival import MultiValue

from copydicom_provider.dicom.sr_items import ContentItem
from copydicom_provider.dicom.text import iso_date, iso_datetime, iso_time, value_text
from copydicom_provider.records.concepts import (
    EVENT_CONTAINER_MEANINGS,
    EVENT_CONTAINERS,
    GROUP_CONTAINERS,
    LATERALITY,
    Group,
    concept_key,
)
from copydicom_provider.records.dose_fields import UNCONVERTED, GroupLabel, RecordFields
from copydicom_provider.records.units import UnitError, UnknownUnit, is_unity, key_unit, needs_unit

__all__ = ["ContentWalker"]

_NEEDS_CONCEPT = frozenset({"TEXT", "NUM", "CODE", "DATETIME", "DATE", "TIME", "UIDREF", "PNAME"})
_REFERENCE_TYPES = frozenset({"COMPOSITE", "IMAGE", "WAVEFORM"})


class _Skip(Exception):
    """This content item cannot be read; it is skipped and named in ParseWarnings."""


class ContentWalker:
    """Depth-first walk of the content tree; event containers open a record of their own."""

    def __init__(self) -> None:
        self.events: list[RecordFields] = []

    def walk(self, items: Any, fields: RecordFields, path: str, group: GroupLabel | None) -> None:
        for i, item in enumerate(items, 1):
            where = f"{path}.{i}"
            try:
                self.item(item, fields, where, group)
            except RecursionError:
                fields.warn(where, "nested too deep; skipped")
            except Exception as exc:
                fields.warn(where, f"{type(exc).__name__}: {exc}; skipped")

    def item(self, item: ContentItem, fields: RecordFields, path: str, group: GroupLabel | None) -> None:
        value_type = item.get("ValueType")
        children = item.get("ContentSequence") or []
        if value_type == "CONTAINER":
            concept = self.concept(item, required=False, fields=fields, path=path)
            if concept is not None and _is_event(concept):
                fields = RecordFields()
                self.events.append(fields)
            elif concept is not None and concept[:2] in GROUP_CONTAINERS:
                group = _group_label(GROUP_CONTAINERS[concept[:2]], children, fields)
            self.walk(children, fields, path, group)
            return
        try:
            if not value_type:
                raise _Skip("has no ValueType")
            concept = self.concept(item, required=value_type in _NEEDS_CONCEPT, fields=fields, path=path)
            if concept is not None:
                self.value(item, value_type, concept_key(*concept), fields, group, (concept, path))
        except _Skip as skip:
            fields.warn(path, f"{skip}; skipped")
        self.walk(children, fields, path, group)

    def concept(self, item: ContentItem, *, required: bool, fields: RecordFields,
                path: str) -> tuple[str, str, str] | None:
        seq = item.get("ConceptNameCodeSequence")
        if not seq:
            if required:
                raise _Skip(f"{item.get('ValueType')} item has no concept name")
            return None
        scheme, value, meaning = _code(seq[0])
        if not value:
            if required:
                raise _Skip(f"concept name {meaning!r} has no code value")
            if not meaning:
                return None
        return scheme, value, meaning

    def value(self, item: ContentItem, value_type: str, key: str, fields: RecordFields,
              group: GroupLabel | None, where: tuple[tuple[str, str, str], str]) -> None:
        if value_type == "NUM":
            self.num(item, key, fields, _laterality(item) or group, where)
        elif value_type == "CODE":
            seq = item.get("ConceptCodeSequence")
            if not seq:
                raise _Skip(f"CODE item {key} has no ConceptCodeSequence")
            scheme, value, meaning = _code(seq[0])
            if not value:
                raise _Skip(f"CODE item {key}: its code has no code value")
            fields.add(key, meaning, f"{scheme}:{value}")
        elif value_type in ("TEXT", "UIDREF", "PNAME"):
            attr = {"TEXT": "TextValue", "UIDREF": "UID", "PNAME": "PersonName"}[value_type]
            if attr not in item:
                raise _Skip(f"{value_type} item {key} has no {attr}")
            text = value_text(item.get(attr))
            if text:
                fields.add(key, text)
        elif value_type in ("DATETIME", "DATE", "TIME"):
            attr = {"DATETIME": "DateTime", "DATE": "Date", "TIME": "Time"}[value_type]
            raw = str(item.get(attr) or "")
            if not raw:
                return
            iso = {"DATETIME": iso_datetime, "DATE": iso_date, "TIME": iso_time}[value_type](raw)
            if iso is None:
                raise _Skip(f"{value_type} item {key} has unreadable value {raw[:40]!r}")
            fields.add(key, iso)
        elif value_type in _REFERENCE_TYPES:
            refs = item.get("ReferencedSOPSequence") or []
            if refs and refs[0].get("ReferencedSOPInstanceUID"):
                fields.add(key, str(refs[0].get("ReferencedSOPInstanceUID")))

    def num(self, item: ContentItem, key: str, fields: RecordFields, group: GroupLabel | None,
            where: tuple[tuple[str, str, str], str]) -> None:
        measured = item.get("MeasuredValueSequence")
        if not measured:
            return  # no value (maybe a NumericValueQualifier): omitted, never 0
        mv = measured[0]
        raw = mv.get("NumericValue")
        if raw is None or raw == "":
            raw = mv.get("FloatingPointValue")
        if raw is None or raw == "":
            return
        raws = list(raw) if isinstance(raw, (list, MultiValue)) else [raw]
        units = mv.get("MeasurementUnitsCodeSequence")
        raw_unit = _raw_unit(units)
        unit, factor, unconverted = None, Decimal(1), None
        if not raw_unit and needs_unit(key):
            unconverted = "has an empty unit sequence" if units is not None else "has no unit"
        elif units:
            try:
                unit, factor = key_unit(key, raw_unit)
            except UnknownUnit:
                which = "means no unit" if is_unity(raw_unit) else "is not known"
                unconverted = f"has unit {raw_unit[:40]!r}, which {which}"
            except UnitError as exc:
                raise _Skip(f"NUM item {key}: {exc}") from None
        numbers = []
        for one in raws:
            try:
                number = Decimal(str(one).strip()) * factor
            except InvalidOperation:
                raise _Skip(f"NUM item {key} has non-numeric value {str(one)[:40]!r}") from None
            if not number.is_finite():
                raise _Skip(f"NUM item {key} has non-finite value {str(one)[:40]!r}")
            numbers.append(number)
        if unconverted is not None:
            self.unconverted(key, numbers, raw_unit, fields, group, where, unconverted)
            return
        for number in numbers:
            if not fields.add_number(key, number, unit, group):
                raise _Skip(f"NUM item {key} in {unit!r}, the record holds it in "
                            f"{fields.units[key]!r}")


    @staticmethod
    def unconverted(key: str, numbers: list[Decimal], raw_unit: str, fields: RecordFields,
                    group: GroupLabel | None, where: tuple[tuple[str, str, str], str], reason: str) -> None:
        """Keep numbers of unknown scale under ``<key>_Unconverted``, named in ParseWarnings."""
        (scheme, value, meaning), path = where
        concept = f"{key} ({scheme}:{value} {meaning!r})"
        for number in numbers:
            if not fields.add_unconverted(key, number, raw_unit, group):
                raise _Skip(f"NUM item {concept} {reason}, the record holds {key}{UNCONVERTED} in "
                            f"{fields.units[key + UNCONVERTED]!r}")
        fields.warn(path, f"NUM item {concept} {reason}; kept as {key}{UNCONVERTED}, not in {key}")


def _raw_unit(units: Any) -> str:
    """The unit as written: its code value, else its meaning; empty for no unit or an empty sequence."""
    if not units:
        return ""
    return str(units[0].get("CodeValue") or units[0].get("CodeMeaning") or "").strip()


def _code(code: ContentItem) -> tuple[str, str, str]:
    value = code.get("CodeValue") or code.get("LongCodeValue") or code.get("URNCodeValue") or ""
    scheme = str(code.get("CodingSchemeDesignator") or "")
    return scheme, str(value), str(code.get("CodeMeaning") or "")


def _group_label(group: Group, children: Any, fields: RecordFields) -> GroupLabel:
    """``SourceA`` from a tube container's identification; ``Source2`` by position when it has none."""
    seen = fields.groups.get(group.fallback, 0) + 1
    fields.groups[group.fallback] = seen
    for child in children:
        seq = child.get("ConceptNameCodeSequence")
        if seq and _code(seq[0])[:2] in group.naming:
            name = _child_text(child)
            if name:
                return GroupLabel(group.prefix + name, group.total, group.scalar)
    return GroupLabel(f"{group.fallback}{seen}", group.total, group.scalar)


def _laterality(item: ContentItem) -> GroupLabel | None:
    """``LeftBreast`` when a NUM carries a laterality modifier (accumulated AGD per breast)."""
    for child in item.get("ContentSequence") or []:
        seq = child.get("ConceptNameCodeSequence")
        if seq and _code(seq[0])[:2] in LATERALITY:
            name = _child_text(child)
            if name:
                return GroupLabel(name, False)
    return None


def _child_text(child: ContentItem) -> str:
    """A naming child's value, CamelCase letters and digits: "A", "PlaneA", "Copper", "LeftBreast"."""
    text = str(child.get("TextValue") or child.get("UID") or "")
    if not text:
        code = child.get("ConceptCodeSequence")
        text = _code(code[0])[2] if code else ""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", text) if w]
    return "".join(w[0].upper() + w[1:] for w in words)[:32]


def _is_event(concept: tuple[str, str, str]) -> bool:
    scheme, value, meaning = concept
    return (scheme, value) in EVENT_CONTAINERS or meaning.strip().lower() in \
        EVENT_CONTAINER_MEANINGS
