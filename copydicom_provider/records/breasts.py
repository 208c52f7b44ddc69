"""Accumulated average glandular dose over the breasts imaged only: a breast not imaged is not a 0.

Why: mammography reports give "Accumulated Average Glandular Dose" (111637) once per breast, and many
write 0 for a breast that was not imaged. Averaged with it, a one-sided exam's AGD came out halved.
The breasts imaged are those the irradiation events name by their Laterality; a report whose events
name none falls back to the breasts with a dose above 0. The key then holds the mean over the
breasts imaged (one breast: its value), ``<Key>_LeftBreast``/``_RightBreast`` only the breasts
imaged, and ``BreastsImaged`` says which. A report that gives no dose, or none in a known unit, for
a breast the events name is left as it is: a mean without that breast is not the exam's AGD.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from copydicom_provider.records.dose_fields import json_number

__all__ = ["AGD_KEY", "IMAGED_KEY", "agd_over_imaged_breasts"]

AGD_KEY = "AccumulatedAverageGlandularDose"
IMAGED_KEY = "BreastsImaged"
_SUMMARY_SUFFIXES = ("min", "max", "count", "series", "unit", "text", "Unconverted", "UnconvertedUnit")
_NAMES = {"left": "Left breast", "right": "Right breast"}


def _sides_named(text: str) -> set[str]:
    """``{"left"}`` for "Left breast" or "L", both for "Right and left" / "Both breasts" / "Bilateral"."""
    words = text.lower()
    if "both" in words or "bilateral" in words:
        return {"left", "right"}
    found = {side for side in _NAMES if side in words}
    return found or ({"left"} if words.strip() == "l" else {"right"} if words.strip() == "r" else set())


def _per_side(report: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """``{"left": ("AccumulatedAverageGlandularDose_LeftBreast", 1.2), ...}`` from the report record."""
    out: dict[str, tuple[str, Any]] = {}
    prefix = AGD_KEY + "_"
    for key, value in report.items():
        name = key[len(prefix):] if key.startswith(prefix) else ""
        if not name or name.startswith(_SUMMARY_SUFFIXES) or not isinstance(value, (int, float)):
            continue
        sides = _sides_named(name.replace("Breast", " breast"))
        if len(sides) == 1:
            out[sides.pop()] = (key, value)
    return out


def _imaged(events: list[dict[str, Any]]) -> set[str]:
    sides: set[str] = set()
    for event in events:
        value = event.get("Laterality")
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                sides |= _sides_named(text)
    return sides


def agd_over_imaged_breasts(report: dict[str, Any], events: list[dict[str, Any]]) -> None:
    """Take the report record's accumulated AGD over the breasts imaged (in place); no per-breast values: as is."""
    per_side = _per_side(report)
    if not per_side:
        return
    imaged = _imaged(events) or {side for side, (_, value) in per_side.items() if value > 0}
    if not imaged or not imaged <= per_side.keys():
        return  # the events name a breast the report gives no (converted) dose for: leave what the report says
    kept = {side: entry for side, entry in per_side.items() if side in imaged}
    for side, (key, _) in per_side.items():
        if side not in kept:
            del report[key]
    values = [Decimal(str(value)) for _, value in kept.values()]
    report[AGD_KEY] = json_number(sum(values, Decimal(0)) / len(values))
    for suffix in ("min", "max", "count", "series"):
        report.pop(f"{AGD_KEY}_{suffix}", None)
    if len(values) > 1:
        report[f"{AGD_KEY}_min"], report[f"{AGD_KEY}_max"] = json_number(min(values)), json_number(max(values))
        report[f"{AGD_KEY}_count"] = len(values)
    names = [_NAMES[side] for side in sorted(kept)]
    report[IMAGED_KEY] = names[0] if len(names) == 1 else names
