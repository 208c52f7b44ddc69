"""The user-editable CSV tables (reference levels, alert thresholds, exam names): packaged default or user's copy.

Why one reader: the tables are read the same way (a UTF-8 file, a BOM from a spreadsheet allowed),
and a file that cannot be read must be refused with the same kind of message naming it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from importlib import resources
from pathlib import Path


def read_table(path: str | Path | None, package: str, packaged: str, error: type[ValueError],
               what: str) -> tuple[str, str]:
    """(text, origin) of ``path``, or of the ``packaged`` file of ``package`` when ``path`` is None or empty."""
    if not path:
        return resources.files(package).joinpath(packaged).read_text(encoding="utf-8"), f"packaged {packaged}"
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8-sig"), str(file)
    except OSError as exc:
        raise error(f"{what} {file} cannot be read: {exc.strerror or exc}") from None


def table_rows(text: str, origin: str, columns: tuple[str, ...], error: type[ValueError],
               what: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Each row as (where, stripped cells), ``where`` naming the file and line for messages; a missing column
    is refused before any row."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise error(f"{what} {origin} lacks column(s) {', '.join(missing)}; expected {','.join(columns)}")
    for number, row in enumerate(reader, start=2):
        yield f"{what} {origin}, line {number}", {c: (row.get(c) or "").strip() for c in columns}
