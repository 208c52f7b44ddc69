"""The dose-alert threshold table: which value, of which scan or exam, is worth telling someone about now.

Why a table: notification values are a site's decision (AAPM's are a starting point, a site adds its
own protocols), so the shipped CSV is a default that a user copies and edits. Each row names its
source. A row matches an event (``scope`` event) or an exam's total (``scope`` study) by
protocol (a regular expression), age (``[age_min_years, age_max_years)``), target region (codes;
``!code`` means "not that region") and CTDIvol phantom (``head`` = 16 cm, ``body`` = 32 cm). Of the
rows that match, the most specific one applies (a protocol outranks an age, an age a region, a region
a phantom), so a child's head scan is held to the paediatric head value, not also to the adult one.
An age that is not known matches only rows without age bounds: the adult values apply. A phantom
that is not known matches rows of either phantom (the lower value applies among equals).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from copydicom_provider.csv_tables import read_table, table_rows
from copydicom_provider.records.units import UnitError, key_unit

COLUMNS = ("rule", "scope", "quantity", "threshold", "unit", "body_region_codes", "phantom", "protocol_pattern",
           "age_min_years", "age_max_years", "examination", "source")
PACKAGED = "dose_alert_thresholds.csv"
EVENT, STUDY = "event", "study"
PHANTOMS = ("head", "body")
#: quantity column -> the record key whose unit the threshold is converted to; FluoroscopyTime is the
#: IrradiationDuration of a study's fluoroscopy events, summed.
QUANTITY_KEYS = {"CTDIvol": "CTDIvol", "DLP": "DLP", "DoseRP": "DoseRP", "DoseAreaProduct": "DoseAreaProduct",
                 "AverageGlandularDose": "AverageGlandularDose", "FluoroscopyTime": "IrradiationDuration"}


class ThresholdTableError(ValueError):
    """The threshold table cannot be used; the message names the file, line and column."""


@dataclass(frozen=True)
class Subject:
    """What a row is matched against: one scan, or one exam (its scans' protocols and its one region)."""

    protocols: tuple[str, ...]
    region_code: str
    phantom: str
    age_years: float | None


@dataclass(frozen=True)
class Threshold:
    rule: str
    scope: str
    quantity: str
    #: in the records' unit of the quantity (``unit`` is the table's, for people)
    value: float
    shown_value: float
    unit: str
    records_unit: str
    regions: frozenset[str]
    excluded_regions: frozenset[str]
    phantom: str
    protocol_pattern: str
    age_min: float | None
    age_max: float | None
    examination: str
    source: str

    def matches(self, subject: Subject) -> bool:
        if self.protocol_pattern and not any(re.search(self.protocol_pattern, p, re.IGNORECASE)
                                             for p in subject.protocols):
            return False
        if self.age_min is not None or self.age_max is not None:
            if subject.age_years is None:
                return False
            if self.age_min is not None and subject.age_years < self.age_min:
                return False
            if self.age_max is not None and subject.age_years >= self.age_max:
                return False
        if self.regions and subject.region_code not in self.regions:
            return False
        if self.excluded_regions and subject.region_code in self.excluded_regions:
            return False
        # a scan whose phantom is not recorded is held to a phantom's row too: of the rows left, the lowest
        # value applies, so a missing phantom never lets a child's torso scan pass at the adult value
        return not self.phantom or not subject.phantom or self.phantom in subject.phantom.lower()

    @property
    def specificity(self) -> tuple[bool, bool, bool, bool]:
        return (bool(self.protocol_pattern), self.age_min is not None or self.age_max is not None,
                bool(self.regions or self.excluded_regions), bool(self.phantom))


@dataclass
class ThresholdTable:
    thresholds: list[Threshold]
    origin: str

    def applying(self, scope: str, quantity: str, subject: Subject) -> Threshold | None:
        """The most specific matching row of ``scope`` and ``quantity`` (the lowest value among equals)."""
        matching = [t for t in self.thresholds if t.scope == scope and t.quantity == quantity and t.matches(subject)]
        if not matching:
            return None
        return max(matching, key=lambda t: (t.specificity, -t.value))

    def quantities(self, scope: str) -> list[str]:
        return sorted({t.quantity for t in self.thresholds if t.scope == scope})


def load_threshold_table(path: str | Path | None = None) -> ThresholdTable:
    """Read and check a table; ``None`` or empty means the packaged one."""
    return parse_threshold_table(*read_table(path, "copydicom_provider.alerts", PACKAGED, ThresholdTableError,
                                             "alert threshold table"))


def parse_threshold_table(text: str, origin: str) -> ThresholdTable:
    rows = []
    seen: set[str] = set()
    for where, cells in table_rows(text, origin, COLUMNS, ThresholdTableError, "alert threshold table"):
        threshold = _threshold(cells, where)
        if threshold.rule in seen:
            raise ThresholdTableError(f"{where}: rule {threshold.rule!r} is named twice; each rule is sent once "
                                      "per study or event by its name")
        seen.add(threshold.rule)
        rows.append(threshold)
    return ThresholdTable(rows, origin)


def _threshold(cells: dict[str, str], where: str) -> Threshold:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", cells["rule"]):
        raise ThresholdTableError(f"{where}: rule {cells['rule']!r} must be a name of letters, digits, _ . -")
    if cells["scope"] not in (EVENT, STUDY):
        raise ThresholdTableError(f"{where}: scope {cells['scope']!r} is neither {EVENT!r} nor {STUDY!r}")
    key = QUANTITY_KEYS.get(cells["quantity"])
    if key is None:
        raise ThresholdTableError(f"{where}: quantity {cells['quantity']!r} is not one of {', '.join(QUANTITY_KEYS)}")
    if cells["quantity"] == "FluoroscopyTime" and cells["scope"] != STUDY:
        raise ThresholdTableError(f"{where}: FluoroscopyTime is a study's total; its scope must be {STUDY!r}")
    shown = _number(cells["threshold"], "threshold", where)
    if shown is None or not 0 < shown < math.inf:
        raise ThresholdTableError(f"{where}: threshold must be a positive number, not {cells['threshold']!r}")
    try:
        records_unit, factor = key_unit(key, cells["unit"])
    except UnitError as error:
        raise ThresholdTableError(f"{where}: unit {cells['unit']!r} for {cells['quantity']}: {error}") from None
    regions = cells["body_region_codes"].split()
    phantom = cells["phantom"].lower()
    if phantom and phantom not in PHANTOMS:
        raise ThresholdTableError(f"{where}: phantom {cells['phantom']!r} is neither head (16 cm) nor body (32 cm)")
    if cells["protocol_pattern"]:
        try:
            re.compile(cells["protocol_pattern"])
        except re.error as error:
            raise ThresholdTableError(f"{where}: protocol_pattern is not a regular expression ({error})") from None
    age_min = _number(cells["age_min_years"], "age_min_years", where)
    age_max = _number(cells["age_max_years"], "age_max_years", where)
    if age_min is not None and age_max is not None and not age_min < age_max:
        raise ThresholdTableError(f"{where}: age_min_years must be below age_max_years")
    if not cells["source"]:
        raise ThresholdTableError(f"{where}: the source column is empty; every threshold names where it comes from")
    return Threshold(
        rule=cells["rule"], scope=cells["scope"], quantity=cells["quantity"], value=float(shown * float(factor)),
        shown_value=shown, unit=cells["unit"], records_unit=records_unit,
        regions=frozenset(r for r in regions if not r.startswith("!")),
        excluded_regions=frozenset(r[1:] for r in regions if r.startswith("!")),
        phantom=phantom, protocol_pattern=cells["protocol_pattern"], age_min=age_min, age_max=age_max,
        examination=cells["examination"], source=cells["source"])


def _number(text: str, column: str, where: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ThresholdTableError(f"{where}: {column} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ThresholdTableError(f"{where}: {column} must be a finite number of at least 0, not {text}")
    return value
