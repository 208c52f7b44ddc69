"""Charts for the quarterly report, drawn with matplotlib's non-interactive Agg backend.

Each chart is drawn once and handed to a :class:`ChartSaver`, which writes its PNG and, when the
report's PDF is open, adds the same figure to it.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # workers have no display
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from copydicom_provider.reports.collect import DoseEvent
from copydicom_provider.reports.exams import EXAM_QUANTITIES
from copydicom_provider.reports.fields import QUANTITY_BY_KEY

#: Box plots and lines show the protocols with the most events; more would not be readable.
MAX_PROTOCOLS = 20
DISTRIBUTION_QUANTITIES = ("CTDIvol", "DLP", "SSDE", "DoseAreaProduct", "DoseRP", "AverageGlandularDose")


class ChartSaver:
    """Writes a chart's PNG into ``folder`` (under a ``.partial`` name, then renamed) and hands it to ``also``."""

    def __init__(self, folder: Path, also: Callable[[Figure], None] | None = None) -> None:
        self.folder = folder
        self.also = also

    def __call__(self, figure: Figure, name: str) -> str:
        path = self.folder / name
        partial = path.with_name(path.name + ".partial")
        try:
            figure.savefig(partial, dpi=100, bbox_inches="tight", format="png")
            if self.also:
                self.also(figure)
        finally:
            plt.close(figure)
        partial.replace(path)
        return name


def _top_protocols(events: Sequence[DoseEvent], quantity: str) -> list[str]:
    counts = Counter(e.protocol for e in events if quantity in e.values)
    return sorted(p for p, _ in counts.most_common(MAX_PROTOCOLS))


def distribution_charts(events: Sequence[DoseEvent], save: ChartSaver) -> list[str]:
    """One box plot per quantity present: its distribution per protocol."""
    names = []
    for key in DISTRIBUTION_QUANTITIES:
        protocols = _top_protocols(events, key)
        if not protocols:
            continue
        quantity = QUANTITY_BY_KEY[key]
        data = [[quantity.shown(e.values[key]) for e in events if e.protocol == p and key in e.values]
                for p in protocols]
        figure, axes = plt.subplots(figsize=(max(6, 0.6 * len(protocols) + 3), 6))
        axes.boxplot(data, showmeans=True)
        axes.set_xticks(range(1, len(protocols) + 1), protocols, rotation=45, ha="right")
        axes.set_ylabel(f"{quantity.label} ({quantity.shown_unit})")
        axes.set_title(f"{quantity.label} per acquisition protocol (box: quartiles; whiskers 1.5 IQR; triangle: mean)")
        names.append(save(figure, f"distribution_{key}.png"))
    return names


def monthly_median_charts(rows: Sequence[dict[str, Any]], save: ChartSaver) -> list[str]:
    """One line chart per quantity: each protocol's monthly median."""
    names = []
    by_quantity: dict[str, dict[str, list[tuple[str, float]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_quantity[row["quantity"]][row["protocol"]].append((row["month"], row["median"]))
    for key in DISTRIBUTION_QUANTITIES:
        series = by_quantity.get(key)
        if not series:
            continue
        quantity = QUANTITY_BY_KEY[key]
        biggest = sorted(series, key=lambda p: -len(series[p]))[:MAX_PROTOCOLS]
        figure, axes = plt.subplots(figsize=(10, 5))
        for protocol in sorted(biggest):
            points = sorted(series[protocol])
            axes.plot([m for m, _ in points], [v for _, v in points], marker="o", label=protocol)
        axes.set_ylabel(f"median {quantity.label} ({quantity.shown_unit})")  # the rows are in it already
        axes.set_xlabel("month of study")
        axes.set_title(f"Monthly median {quantity.label} per protocol")
        axes.legend(fontsize="small", loc="best")
        names.append(save(figure, f"monthly_median_{key}.png"))
    return names


def studies_chart(rows: Sequence[dict[str, Any]], save: ChartSaver) -> list[str]:
    """Studies per modality per day, one line per modality, over every day in ``rows`` (0 on a day without)."""
    if not rows:
        return []
    series: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        series[row["modality"]][row["day"]] = row["studies"]
    days = sorted({row["day"] for row in rows})
    figure, axes = plt.subplots(figsize=(12, 5))
    for modality in sorted(series):
        axes.plot(days, [series[modality].get(d, 0) for d in days], marker=".", label=modality)
    axes.set_ylabel("studies")
    axes.set_title("Studies per modality per day (study date)")
    axes.legend(fontsize="small", loc="best")
    step = max(1, len(days) // 15)
    axes.set_xticks(range(0, len(days), step), [days[i] for i in range(0, len(days), step)], rotation=45, ha="right")
    return [save(figure, "studies_per_modality_per_day.png")]


#: Per-exam figures drawn per standard exam (exams.csv columns); a scanner without the protocol has no bar.
EXAM_CHART_COLUMNS = ("dlp_total", "ctdivol_max", "ssde_max", "dap_total_gy_cm2", "dose_rp_total")
UNMAPPED = "(unmapped)"


def _exam_group(row: dict[str, Any]) -> str:
    name = row["standard_exam"] or UNMAPPED
    return name if row["age_group"] == "adult" else f"{name} ({row['age_group']})"


def exam_charts(rows: Sequence[dict[str, Any]], save: ChartSaver) -> list[str]:
    """Per standard exam (and age group), the distribution of each per-exam figure; for total DLP,
    the exam-level reference drawn over its box when the group's exams share one."""
    labels = {column: (label, unit) for column, label, unit in EXAM_QUANTITIES}
    names = []
    for column in EXAM_CHART_COLUMNS:
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            if row[column] is not None:
                groups[_exam_group(row)].append(row)
        if not groups:
            continue
        shown = sorted(sorted(groups, key=lambda g: -len(groups[g]))[:MAX_PROTOCOLS])
        label, unit = labels[column]
        figure, axes = plt.subplots(figsize=(max(6, 0.8 * len(shown) + 3), 6))
        axes.boxplot([[r[column] for r in groups[g]] for g in shown], showmeans=True)
        axes.set_xticks(range(1, len(shown) + 1), [f"{g}\nn={len(groups[g])}" for g in shown],
                        rotation=45, ha="right")
        drawn = False
        for position, group in enumerate(shown, 1):
            levels = {r["dlp_level"] for r in groups[group]} if column == "dlp_total" else set()
            if len(levels) == 1 and None not in levels:
                axes.hlines(levels.pop(), position - 0.4, position + 0.4, colors="red",
                            label="_nolegend_" if drawn else "exam-level reference (DLP)")
                drawn = True
        if drawn:
            axes.legend(fontsize="small", loc="best")
        axes.set_ylabel(f"{label} ({unit})")
        axes.set_title(f"{label} per exam, by standard exam name (box: quartiles; triangle: mean)")
        names.append(save(figure, f"exams_{column}.png"))
    return names


#: Protocols in a per-scanner comparison: the most frequent of those done on more than one scanner.
MAX_COMPARED = 12


def scanner_charts(rows: Sequence[dict[str, Any]], save: ChartSaver) -> list[str]:
    """Per quantity, the median of each protocol on each scanner, side by side, for the protocols done on
    two or more scanners (``rows``: dose per protocol and scanner)."""
    names = []
    for key in DISTRIBUTION_QUANTITIES:
        medians: dict[str, dict[str, tuple[float, int]]] = defaultdict(dict)
        for row in rows:
            if row["quantity"] == key:
                medians[row["protocol"]][row["station"]] = (row["median"], row["count"])
        shared = [p for p, stations in medians.items() if len(stations) > 1]
        if not shared:
            continue
        protocols = sorted(sorted(shared, key=lambda p: -sum(n for _, n in medians[p].values()))[:MAX_COMPARED])
        stations = sorted({s for p in protocols for s in medians[p]})
        width = 0.8 / len(stations)
        quantity = QUANTITY_BY_KEY[key]
        figure, axes = plt.subplots(figsize=(max(6, 0.9 * len(protocols) + 3), 6))
        for index, station in enumerate(stations):
            xs = [i + (index - (len(stations) - 1) / 2) * width for i in range(len(protocols))]
            heights = [medians[p].get(station, (math.nan, 0))[0] for p in protocols]
            axes.bar(xs, heights, width, label=station or "(none)")
        axes.set_xticks(range(len(protocols)), protocols, rotation=45, ha="right")
        axes.set_ylabel(f"median {quantity.label} ({quantity.shown_unit})")
        axes.set_title(f"Median {quantity.label} per protocol on each scanner (StationName)")
        axes.legend(fontsize="small", loc="best", title="scanner")
        names.append(save(figure, f"scanners_{key}.png"))
    return names
