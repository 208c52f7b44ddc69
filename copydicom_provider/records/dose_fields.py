"""Values gathered for one dose record -> flat keys, every number a scalar.

Why scalars: Splunk names a JSON array ``KVP{}``, so ``stats avg(KVP)`` silently skips every event
whose kVp arrived as a list (dual-source CT, per-pulse fluoroscopy). Here a numeric key always holds
one number; several values of one concept in one record are summarised:

* ``KVP`` = their mean, ``KVP_min``, ``KVP_max``, ``KVP_count``;
* values read inside a per-tube, per-plane or per-filter container (:data:`.GROUP_CONTAINERS`) or
  qualified by a laterality also go under ``<Key>_<name>`` (``KVP_SourceA``,
  ``DoseAreaProductTotal_PlaneB``, ``XRayFilterThicknessMinimum_FilterCopper``,
  ``AccumulatedAverageGlandularDose_LeftBreast``), so a tube without a value leaves only its own
  key out; per-plane totals add up (``DoseAreaProductTotal`` is the sum over planes);
* a series that is not one value per tube (per-pulse values, repeated items) is also kept whole as
  ``KVP_series`` -- the first key dropped when a record must shrink to fit the size cap.

A number that cannot be put in its key's unit -- no unit, an empty unit sequence, or a unit
:mod:`.units` does not know, on a key that has a unit -- is kept apart, never in the key a search
averages: ``<Key>_Unconverted`` (summarised the same way) and ``<Key>_UnconvertedUnit`` (the raw
unit as written, empty when there was none). When only some of a record's values of a key are kept
apart, the record has no ``<Key>`` (nor its ``_min``/``_max``/``_count``): the mean or per-plane sum
of the others would pass for all of them (a biplane DAP total lacking a plane). The values converted
keep their per-group keys (``<Key>_PlaneA``) and ``<Key>_series``.

Text and code values that repeat stay lists (``TargetRegion``, ``XRaySourceID``): Splunk counts and
groups multivalue strings fine. Items that could not be read are named in ``ParseWarnings``
(one string, ``<content path>: <reason>; skipped`` joined by `` | ``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

__all__ = ["MAX_WARNINGS", "UNCONVERTED", "WARNING_SEPARATOR", "GroupLabel", "RecordFields", "json_number"]

#: Warnings kept per record (the rest are counted); each is cut to WARNING_CHARS.
MAX_WARNINGS = 20
WARNING_CHARS = 300
#: One string, not a JSON list: Splunk would name a list ``ParseWarnings{}``.
WARNING_SEPARATOR = " | "
#: Suffix of the key that holds a number which could not be put in its key's unit.
UNCONVERTED = "_Unconverted"


class GroupLabel(NamedTuple):
    """Where a value was read: ``SourceA`` (a tube), ``PlaneB``, ``FilterCopper``, ``LeftBreast``."""

    name: str
    total: bool  # per-plane totals add up; tubes, filters and sides are averaged
    scalar: bool = True  # False: kept per group only (organ doses), no key over all groups


def json_number(number: Decimal) -> int | float:
    """Integral values as int (``3`` events, ``120`` kV), the rest as float."""
    if number == number.to_integral_value() and abs(number) < 2**53:
        return int(number)
    return float(number)


def _mean(values: list[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


class RecordFields:
    """What the walk found for one record, in document order."""

    def __init__(self) -> None:
        self.numbers: dict[str, list[tuple[Decimal, GroupLabel | None]]] = {}
        self.units: dict[str, str | None] = {}
        self.unconverted: set[str] = set()  # keys of numbers kept in their raw unit
        self.values: dict[str, list[Any]] = {}
        self.codes: dict[str, list[str]] = {}
        self.order: dict[str, None] = {}
        self.warnings: list[str] = []
        self.groups: dict[str, int] = {}  # group containers seen per kind, to name one by position

    def warn(self, where: str, problem: str) -> None:
        self.warnings.append(f"{where}: {problem}"[:WARNING_CHARS])

    def add_number(self, key: str, value: Decimal, unit: str | None, group: GroupLabel | None) -> bool:
        """Keep ``value`` (already in ``unit``); False when the key already holds another unit."""
        if key in self.units and self.units[key] != unit:
            return False
        self.units[key] = unit
        self.numbers.setdefault(key, []).append((value, group))
        self.order.setdefault(key)
        return True

    def add_unconverted(self, key: str, value: Decimal, raw_unit: str, group: GroupLabel | None) -> bool:
        """Keep ``value`` under ``<key>_Unconverted`` in its raw unit; False when that key holds another."""
        name = key + UNCONVERTED
        if not self.add_number(name, value, raw_unit, group):
            return False
        self.unconverted.add(name)
        return True

    def add(self, key: str, value: Any, code: str | None = None) -> None:
        self.values.setdefault(key, []).append(value)
        if code is not None:
            self.codes.setdefault(key, []).append(code)
        self.order.setdefault(key)

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in self.order:
            values = self.values.get(key, [])
            if key in self.unconverted:
                out.update(_number_keys(key, self.numbers[key], None))
                out[f"{key}Unit"] = self.units[key] or ""
                continue
            if key in self.numbers:
                out.update(_number_keys(key, self.numbers[key], self.units[key]))
                if key + UNCONVERTED in self.unconverted:  # a summary short of the values kept apart: none
                    for name in (key, f"{key}_min", f"{key}_max", f"{key}_count"):
                        out.pop(name, None)
                    if any(group is None for _, group in self.numbers[key]):  # not all kept per group
                        out.setdefault(f"{key}_series", [json_number(v) for v, _ in self.numbers[key]])
                if values:  # the same concept also as text or code: kept beside, never mixed in
                    out[f"{key}_text"] = values[0] if len(values) == 1 else values
                continue
            out[key] = values[0] if len(values) == 1 else values
            codes = self.codes.get(key)
            if codes:
                out[f"{key}_code"] = codes[0] if len(codes) == 1 else codes
        if self.warnings:
            kept = self.warnings[:MAX_WARNINGS]
            if len(self.warnings) > MAX_WARNINGS:
                kept.append(f"... and {len(self.warnings) - MAX_WARNINGS} more")
            out["ParseWarnings"] = WARNING_SEPARATOR.join(kept)
        return out


def _total_over_groups(entries: list[tuple[Decimal, GroupLabel | None]]) -> bool:
    """The key's scalar is the sum over its groups (per-plane totals), not a mean."""
    return all(group is not None and group.total for _, group in entries)


def _number_keys(key: str, entries: list[tuple[Decimal, GroupLabel | None]], unit: str | None) -> dict[str, Any]:
    values = [value for value, _ in entries]
    per_group: dict[str, list[Decimal]] = {}
    for value, group in entries:
        if group is not None:
            per_group.setdefault(group.name, []).append(value)
    all_grouped = all(group is not None for _, group in entries)
    if len(values) == 1:
        scalar = values[0]
    elif _total_over_groups(entries):
        scalar = sum((_mean(v) for v in per_group.values()), Decimal(0))
    else:
        scalar = _mean(values)
    out: dict[str, Any] = {key: json_number(scalar)}
    if all_grouped and not any(group is not None and group.scalar for _, group in entries):
        out = {f"{key}_{name}": json_number(_mean(v)) for name, v in per_group.items()}
        return {**out, f"{key}_unit": unit} if unit else out
    if len(values) > 1:
        out[f"{key}_min"] = json_number(min(values))
        out[f"{key}_max"] = json_number(max(values))
        out[f"{key}_count"] = len(values)
    for name, group_values in per_group.items():
        out[f"{key}_{name}"] = json_number(_mean(group_values))
    one_per_group = all_grouped and all(len(v) == 1 for v in per_group.values())
    if len(values) > 1 and not one_per_group:
        out[f"{key}_series"] = [json_number(v) for v in values]
    if unit:
        out[f"{key}_unit"] = unit
    return out
