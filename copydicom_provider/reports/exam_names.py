"""Local descriptions -> standard exam names, so that exams are compared with levels meant for them.

Why: a site's protocol "Thorax Routine" may serve a chest exam and a chest-abdomen-pelvis exam; a
level set per exam must be read against the exam, named as the registry names it. The table is a CSV
(shipped with defaults, copied and edited by the user): each row a case-insensitive regular
expression and the standard name it gives. A study is matched by its RequestedProcedureDescription,
then its StudyDescription, then (only when all its scans share one) its protocol, and the first row
that matches wins, so a site puts its specific rows above the general ones. A study nothing matches
is listed as unmapped, with its descriptions, for the physicist to map.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from copydicom_provider.csv_tables import read_table, table_rows

COLUMNS = ("pattern", "standard_exam", "source")
PACKAGED = "exam_names.csv"
UNMAPPED = ""


class ExamNameTableError(ValueError):
    """The exam-name table cannot be used; the message names the file, line and column."""


@dataclass(frozen=True)
class ExamName:
    pattern: re.Pattern[str]
    standard_exam: str
    source: str


@dataclass
class ExamNameTable:
    names: list[ExamName]
    origin: str

    def name_for(self, descriptions: Sequence[str]) -> tuple[str, str]:
        """(standard exam, the description it was read from); ``("", "")`` when no row matches."""
        for text in descriptions:
            if not text:
                continue
            for name in self.names:
                if name.pattern.search(text):
                    return name.standard_exam, text
        return UNMAPPED, ""


def load_exam_names(path: str | Path | None = None) -> ExamNameTable:
    """Read and check a table; ``None`` or empty means the packaged one."""
    return parse_exam_names(*read_table(path, "copydicom_provider.reports", PACKAGED, ExamNameTableError,
                                        "exam-name table"))


def parse_exam_names(text: str, origin: str) -> ExamNameTable:
    names = []
    for where, cells in table_rows(text, origin, COLUMNS, ExamNameTableError, "exam-name table"):
        if not cells["pattern"] or not cells["standard_exam"]:
            raise ExamNameTableError(f"{where}: pattern and standard_exam must both be given")
        try:
            pattern = re.compile(cells["pattern"], re.IGNORECASE)
        except re.error as error:
            raise ExamNameTableError(f"{where}: pattern is not a regular expression ({error})") from None
        if not cells["source"]:
            raise ExamNameTableError(f"{where}: the source column is empty; every row says where its name comes from")
        names.append(ExamName(pattern, cells["standard_exam"], cells["source"]))
    return ExamNameTable(names, origin)


def unmapped_rows(exam_rows: Iterable[dict]) -> list[dict]:
    """The descriptions of the exams no row named, with how many exams carry each: what to map next."""
    counts: dict[tuple[str, str], int] = {}
    for row in exam_rows:
        if row["standard_exam"] == UNMAPPED:
            key = (row["procedure_description"], row["study_description"])
            counts[key] = counts.get(key, 0) + 1
    return [{"requested_procedure_description": p, "study_description": s, "exams": n}
            for (p, s), n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
