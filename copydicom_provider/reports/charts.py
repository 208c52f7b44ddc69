"""PNG charts for the quarterly report, drawn with matplotlib's non-interactive Agg backend."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # workers have no display
from matplotlib import pyplot as plt
from matplotlib.figure import Figure

from copydicom_provider.reports.collect import DoseEvent
from copydicom_provider.reports.fields import QUANTITY_BY_KEY

#: Box plots and lines show the protocols with the most events; more would not be readable.
MAX_PROTOCOLS = 20
DISTRIBUTION_QUANTITIES = ("CTDIvol", "DLP", "DoseAreaProduct", "DoseRP", "AverageGlandularDose")


def _save(figure: Figure, path: Path) -> str:
    partial = path.with_name(path.name + ".partial")
    figure.savefig(partial, dpi=100, bbox_inches="tight", format="png")
    plt.close(figure)
    partial.replace(path)
    return path.name


def _top_protocols(events: Sequence[DoseEvent], quantity: str) -> list[str]:
    counts = Counter(e.protocol for e in events if quantity in e.values)
    return sorted(p for p, _ in counts.most_common(MAX_PROTOCOLS))


def distribution_charts(events: Sequence[DoseEvent], folder: Path) -> list[str]:
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
        names.append(_save(figure, folder / f"distribution_{key}.png"))
    return names


def monthly_median_charts(rows: Sequence[dict[str, Any]], folder: Path) -> list[str]:
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
        names.append(_save(figure, folder / f"monthly_median_{key}.png"))
    return names


def studies_chart(rows: Sequence[dict[str, Any]], folder: Path) -> list[str]:
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
    return [_save(figure, folder / "studies_per_modality_per_day.png")]
