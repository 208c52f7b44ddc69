"""The report as one PDF (A4): the headline counts, the tables, then every chart, with clickable study links.

Why matplotlib's PdfPages and not an HTML-to-PDF engine: the charts are matplotlib figures already,
so the PDF needs no browser and no other dependency, and a chart in the PDF is the very figure of
its PNG. The file is written under a ``.partial`` name and renamed once complete.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # workers have no display
from matplotlib import pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from copydicom_provider.reports.summary import Cell, Section, Summary

PDF_FILE = "report.pdf"
A4_PORTRAIT = (8.27, 11.69)
#: Table rows per page, and the characters of 6-point text a table's row holds across the page.
ROWS_PER_PAGE = 24
ROW_CHARACTERS = 160


class PdfReport:
    """An open report PDF: front pages first, then each chart as it is drawn."""

    def __init__(self, pages: PdfPages) -> None:
        self._pages = pages

    def add_figure(self, figure: Figure) -> None:
        self._pages.savefig(figure, bbox_inches="tight")

    def front(self, summary: Summary) -> None:
        """The title page with the headline counts, then one or more pages per table."""
        figure = _page()
        figure.text(0.06, 0.95, "\n".join(textwrap.wrap(summary.title, 70)), fontsize=14, weight="bold", va="top")
        lines = [f"{label}: {value}" for label, value in summary.items]
        text = "\n".join(wrapped for line in lines for wrapped in textwrap.wrap(line, 100, subsequent_indent="    "))
        figure.text(0.06, 0.88, text, fontsize=8, va="top", linespacing=1.5)
        self._pages.savefig(figure)
        plt.close(figure)
        for section in summary.sections:
            self._section(section)

    def _section(self, section: Section) -> None:
        chunks = [section.rows[i:i + ROWS_PER_PAGE] for i in range(0, len(section.rows), ROWS_PER_PAGE)] or [[]]
        for number, rows in enumerate(chunks, 1):
            figure = _page()
            title = section.title + (f" ({number}/{len(chunks)})" if len(chunks) > 1 else "")
            figure.text(0.06, 0.95, title, fontsize=12, weight="bold", va="top")
            if rows:
                _table(figure, section.headers, rows)
            else:
                figure.text(0.06, 0.90, section.empty, fontsize=9, va="top")
            if number == len(chunks):
                notes = [n for n in (section.more, section.note) if n]
                figure.text(0.06, 0.04, "\n".join(textwrap.fill(n, 110) for n in notes), fontsize=7, va="bottom")
            self._pages.savefig(figure)
            plt.close(figure)


def _page() -> Figure:
    return plt.figure(figsize=A4_PORTRAIT)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width, break_long_words=True)) or ""


def _table(figure: Figure, headers: Sequence[str], rows: Sequence[tuple[Cell, ...]]) -> None:
    """The rows as a table under the page's title; a cell with a link is blue and opens it when clicked."""
    axes = figure.add_axes((0.04, 0.08, 0.92, 0.84))
    axes.axis("off")
    width = max(8, ROW_CHARACTERS // len(headers) - 2)
    cells = [[_wrap(c.text, width) for c in row] for row in rows]
    labels = [_wrap(h, width) for h in headers]
    table = axes.table(cellText=cells, colLabels=labels, loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(6)
    lines = [1 + max(t.count("\n") for t in row) for row in (labels, *cells)]
    for (line, _column), cell in table.get_celld().items():
        cell.set_height(0.012 * lines[line] + 0.006)
        if line == 0:
            cell.set_text_props(weight="bold")
    for row_number, row in enumerate(rows, 1):
        for column, value in enumerate(row):
            if value.link:
                text = table[row_number, column].get_text()
                text.set_url(value.link)
                text.set_color("#0645ad")


@contextmanager
def pdf_report(folder: Path, title: str) -> Iterator[PdfReport]:
    """Open ``folder/report.pdf`` for writing; it appears under its name only if everything was written."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PDF_FILE
    partial = path.with_name(path.name + ".partial")
    # no CreationDate: a rerun on the same data writes the same file
    try:
        with PdfPages(partial, metadata={"Title": title, "Creator": "copydicom-provider",
                                         "CreationDate": None}) as pages:
            yield PdfReport(pages)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
