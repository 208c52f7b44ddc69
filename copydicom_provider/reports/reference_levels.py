"""The reference-level table: protocol or body region -> quantity -> national level, with its source.

One CSV serves both the Splunk app (lookup ``dose_reference_levels``) and the quarterly report.
A row names either an ``AcquisitionProtocol`` (``protocol``) or (exclusive) a target region by its code
(``body_region_code``, e.g. ``SCT:69536005``; codes rather than meanings because vendors spell
meanings differently). A protocol row wins over a region row. ``national_level`` is in ``unit``,
which must be the unit the records carry for ``quantity``, so a table in other units is refused
rather than compared wrongly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from copydicom_provider.csv_tables import read_table, table_rows
from copydicom_provider.reports.fields import QUANTITY_BY_KEY

COLUMNS = ("protocol", "body_region", "body_region_code", "quantity", "national_level", "unit", "examination", "source")
#: The table shipped with the package (and packaged into the Splunk app as its lookup).
PACKAGED = "dose_reference_levels.csv"


class ReferenceTableError(ValueError):
    """The reference-level table cannot be used; the message names the file, row and column."""


@dataclass(frozen=True)
class ReferenceLevel:
    protocol: str
    body_region: str
    body_region_code: str
    quantity: str
    national_level: float
    unit: str
    examination: str
    source: str


@dataclass
class ReferenceTable:
    levels: list[ReferenceLevel]
    origin: str

    def level_for(self, protocol: str, region_code: str, quantity: str) -> ReferenceLevel | None:
        """The protocol's own row if there is one, else its target region's."""
        by_region = None
        for level in self.levels:
            if level.quantity != quantity:
                continue
            if level.protocol and level.protocol == protocol:
                return level
            if not level.protocol and level.body_region_code and level.body_region_code == region_code:
                by_region = by_region or level
        return by_region


def packaged_text() -> str:
    return resources.files("copydicom_provider.reports").joinpath(PACKAGED).read_text(encoding="utf-8")


def load_reference_table(path: str | Path | None = None) -> ReferenceTable:
    """Read and check a table; ``None`` or empty means the packaged one."""
    return parse_reference_table(*read_table(path, "copydicom_provider.reports", PACKAGED, ReferenceTableError,
                                             "reference-level table"))


def parse_reference_table(text: str, origin: str) -> ReferenceTable:
    levels = []
    for where, cells in table_rows(text, origin, COLUMNS, ReferenceTableError, "reference-level table"):
        if bool(cells["protocol"]) == bool(cells["body_region_code"]):
            raise ReferenceTableError(f"{where}: name either a protocol or a body_region_code (exactly one), "
                                      "so that a protocol's level never applies to a whole region")
        quantity = QUANTITY_BY_KEY.get(cells["quantity"])
        if quantity is None:
            raise ReferenceTableError(f"{where}: quantity {cells['quantity']!r} is not one of "
                                      f"{', '.join(QUANTITY_BY_KEY)}")
        if cells["unit"] != quantity.unit:
            raise ReferenceTableError(f"{where}: unit {cells['unit']!r} for {quantity.key}; "
                                      f"the records carry {quantity.unit}")
        try:
            value = float(cells["national_level"])
        except ValueError:
            raise ReferenceTableError(f"{where}: national_level {cells['national_level']!r} is not a number") from None
        if not 0 < value < math.inf:
            raise ReferenceTableError(
                f"{where}: national_level must be a positive finite number, not {cells['national_level']}"
            )
        if not cells["source"]:
            raise ReferenceTableError(f"{where}: the source column is empty; every level names where it comes from")
        levels.append(ReferenceLevel(
            protocol=cells["protocol"], body_region=cells["body_region"], body_region_code=cells["body_region_code"],
            quantity=cells["quantity"], national_level=value, unit=cells["unit"], examination=cells["examination"],
            source=cells["source"]))
    return ReferenceTable(levels, origin)
