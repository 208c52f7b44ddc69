"""A second opinion from outside the project: dicognito decides what is identifying, the copy must hold none of it.

Why: the project's own audit (:mod:`tests.support.phi_audit`) and the de-identifier are written by the same
team and may share a blind spot. dicognito (a third-party anonymizer, a test dependency only) has
its own idea of what identifies a person: every UID that is not a class or transfer syntax, every
person name, the IDs, addresses, institutions and equipment it knows, every date and date-time.
It is not used to de-identify anything. It is run on a copy of the ORIGINAL; every element it
changes or removes, at any depth, is taken as identifying, and the de-identified copy must hold
none of those original values (case- and accent-folded, as the project's audit compares).

Exempt, and why: times of day (TM) and values under three characters. dicognito shifts times with
dates, but the project's profile shifts whole days and keeps times (a time without its date
identifies no one; PS3.15's Retain Longitudinal option allows it); two-character values such as
sex ``F`` or an empty-ish code would match everywhere.
"""

from __future__ import annotations

import copy as copying
import re

from dicognito.anonymizer import Anonymizer
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from tests.support.phi_audit import _is_bulk, _strings, _walk, fold

MIN_LENGTH = 3


def _elements(dataset: Dataset) -> dict[str, tuple[str, list[str]]]:
    """path (tag numbers, item indexes) -> (VR, the element's text values)."""
    out = {}
    for path, _, element in _walk(dataset):
        if element.VR != "SQ" and not _is_bulk(element):
            out[_numeric(path, element)] = (element.VR, _strings(element))
    return out


def _numeric(path: str, element: DataElement) -> str:
    """The walk's path with the last keyword replaced by the tag, so that keywords never collide."""
    return f"{path[:path.rfind('.') + 1]}{element.tag}"


def _anonymized(original: Dataset) -> tuple[Dataset, dict[str, str]]:
    """dicognito's result on a copy of ``original``, and what it could not read.

    dicognito stops on a date it cannot parse (``2024-03-12`` in a DA) or shift (``00010102``). It
    would replace any date, so such an element is taken as identifying, taken out, and dicognito
    runs again without it.
    """
    working = copying.deepcopy(original)
    unreadable: dict[str, str] = {}
    _drop_unreadable(working)  # a value pydicom cannot read (a 3-byte US) is the de-identifier's to remove
    for _ in range(50):
        attempt = copying.deepcopy(working)
        try:
            Anonymizer(seed="copydicom-second-opinion").anonymize(attempt)
            return attempt, unreadable
        except (ValueError, OverflowError) as error:  # an unreadable date, a date it cannot shift
            match = re.search(r"With tag \((\w{4}),(\w{4})\)", str(error))
            if not match:
                raise
            tag = Tag(int(match.group(1), 16), int(match.group(2), 16))
            for path, parent, element in list(_walk(working)):
                if element.tag == tag:
                    unreadable.update({fold(v): f"{path} (dicognito cannot read it)" for v in _strings(element)})
                    del parent[tag]
    raise AssertionError("dicognito kept failing on the original")


def _drop_unreadable(dataset: Dataset) -> None:
    for tag in list(dataset.keys()):
        try:
            element = dataset[tag]
        except Exception:
            del dataset[tag]
            continue
        if element.VR == "SQ":
            for item in element.value or []:
                _drop_unreadable(item)


def identifying_values(original: Dataset) -> dict[str, str]:
    """Original value (folded) -> where: each value of each element dicognito changes or removes."""
    anonymized, found = _anonymized(original)
    before, after = _elements(original), _elements(anonymized)
    for where, (vr, values) in before.items():
        if vr == "TM" or after.get(where, (vr, None))[1] == values:
            continue
        parts = [part for value in values for part in re.split(r"[\^=]", value)] if vr == "PN" else []
        for value in [*values, *parts]:
            if len(value.strip()) >= MIN_LENGTH:
                found.setdefault(fold(value.strip()), f"{where} ({vr})")
    return found


def second_opinion(original: Dataset, copy: Dataset) -> list[str]:
    """Findings: each value of the copy that holds an original value dicognito judged identifying.

    A date (DA, DT) of the copy is compared with the original's at the same place only, when there
    is one: a shifted date may fall on another original date by chance, an unshifted one stays put.
    """
    identifying = identifying_values(original)
    before = _elements(original)
    findings = []
    for path, _, element in _walk(copy):
        if element.VR == "SQ" or _is_bulk(element):
            continue
        where = _numeric(path, element)
        if element.VR in ("DA", "DT") and where in before:
            kept = {fold(v) for v in before[where][1]} & {fold(v) for v in _strings(element)}
            findings += [f"{path} = {value!r} is the original date, which dicognito shifts" for value in kept
                         if value in identifying]
            continue
        for text in _strings(element):
            folded = fold(text)
            findings += [f"{path} = {text!r} holds {value!r}, which dicognito replaces at {where}"
                         for value, where in identifying.items() if value in folded]
    return findings
