"""The report's tables, computed from deduplicated events: what the dashboards show, in Python.

Percentiles interpolate linearly between order statistics (numpy's default, Splunk's
``exactperc``); the median is the 50th. The local reference level of a protocol is the median of
its distribution, as ICRP Publication 135 defines a local DRL. Values are computed in the records'
units and shown in each quantity's display unit (DAP in Gy.cm2, see :mod:`.fields`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from copydicom_provider.reports.collect import DoseEvent
from copydicom_provider.reports.fields import QUANTITIES, QUANTITY_BY_KEY
from copydicom_provider.reports.reference_levels import ReferenceTable

#: Default outlier factor: an event above this many times its protocol's median.
OUTLIER_FACTOR = 2.0


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of sorted values, linear interpolation; needs at least one value."""
    if not ordered:
        raise ValueError("percentile of no values")
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Distribution:
    count: int
    mean: float
    median: float
    p75: float
    max: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Distribution:
        ordered = sorted(values)
        return cls(len(ordered), sum(ordered) / len(ordered), percentile(ordered, 50), percentile(ordered, 75),
                   ordered[-1])


def group_values(events: Iterable[DoseEvent],
                 key: Callable[[DoseEvent], tuple[str, ...]]) -> dict[tuple, dict[str, list[float]]]:
    """group key -> quantity key -> values, for the events that carry each quantity."""
    groups: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for event in events:
        for quantity, value in event.values.items():
            groups[key(event)][quantity].append(value)
    return groups


def dose_table(events: Iterable[DoseEvent], by: Sequence[str]) -> list[dict[str, Any]]:
    """One row per group (``by``: DoseEvent attributes such as protocol, station) and quantity."""
    rows = []
    groups = group_values(events, lambda e: tuple(getattr(e, name) for name in by))
    for group in sorted(groups):
        for quantity in QUANTITIES:
            values = groups[group].get(quantity.key)
            if not values:
                continue
            d = Distribution.of(quantity.shown(v) for v in values)
            rows.append({**dict(zip(by, group, strict=True)), "quantity": quantity.key, "unit": quantity.shown_unit,
                         "count": d.count, "mean": d.mean, "median": d.median, "p75": d.p75, "max": d.max})
    return rows


def monthly_medians(events: Iterable[DoseEvent]) -> list[dict[str, Any]]:
    """Per protocol, quantity and month (``YYYY-MM`` of the study): count and median."""
    rows = []
    groups = group_values(events, lambda e: (e.protocol, e.month))
    for protocol, month in sorted(groups):
        for quantity in QUANTITIES:
            values = groups[(protocol, month)].get(quantity.key)
            if values:
                rows.append({"protocol": protocol, "month": month, "quantity": quantity.key,
                             "unit": quantity.shown_unit, "count": len(values),
                             "median": quantity.shown(percentile(sorted(values), 50))})
    return rows


def reference_comparison(events: Iterable[DoseEvent], table: ReferenceTable) -> list[dict[str, Any]]:
    """Per protocol and target region: local level (median) against the national level, if any."""
    rows = []
    groups = group_values(events, lambda e: (e.protocol, e.region, e.region_code))
    for protocol, region, code in sorted(groups):
        for quantity in QUANTITIES:
            values = groups[(protocol, region, code)].get(quantity.key)
            if not values or not quantity.dose:
                continue
            local = percentile(sorted(values), 50)
            level = table.level_for(protocol, code, quantity.key)
            national = level.national_level if level else None
            rows.append({
                "protocol": protocol, "target_region": region, "target_region_code": code,
                "quantity": quantity.key, "unit": quantity.shown_unit, "count": len(values),
                "local_level": quantity.shown(local),
                "national_level": None if national is None else quantity.shown(national),
                "ratio": local / national if national else None,
                "exceeds": bool(national is not None and local > national),
                "matched_by": ("protocol" if level.protocol else "body_region_code") if level else "",
                "examination": level.examination if level else "", "source": level.source if level else "",
            })
    return rows


def outliers(events: Sequence[DoseEvent], table: ReferenceTable,
             factor: float = OUTLIER_FACTOR) -> list[dict[str, Any]]:
    """Events above their protocol's reference level, or above ``factor`` times the protocol's median."""
    medians = {group: {q: percentile(sorted(v), 50) for q, v in per.items()}
               for group, per in group_values(events, lambda e: (e.protocol,)).items()}
    rows: list[dict[str, Any]] = []
    for event in events:
        for quantity, value in event.values.items():
            if not QUANTITY_BY_KEY[quantity].dose:  # a large patient is not an outlier
                continue
            median = medians[(event.protocol,)][quantity]
            level = table.level_for(event.protocol, event.region_code, quantity)
            reasons = []
            if level is not None and value > level.national_level:
                reasons.append("above reference level")
            if median > 0 and value > factor * median:
                reasons.append(f"above {factor:g} x protocol median")
            if reasons:
                shown = QUANTITY_BY_KEY[quantity]
                rows.append({
                    "irradiation_event_uid": event.uid, "study_instance_uid": event.study_uid,
                    "accession_number": event.accession_number, "orthanc_study_id": event.orthanc_study_id,
                    "study_datetime": event.when, "station": event.station, "protocol": event.protocol,
                    "quantity": quantity,
                    "unit": shown.shown_unit, "value": shown.shown(value), "protocol_median": shown.shown(median),
                    "national_level": shown.shown(level.national_level) if level else None,
                    "reason": "; ".join(reasons),
                })
    rows.sort(key=lambda r: (r["protocol"], r["quantity"], -r["value"]))
    return rows


def period_days(start: datetime, end: datetime) -> list[str]:
    """Every calendar day (``YYYY-MM-DD``) that ``[start, end)`` touches, in order."""
    days, day = [], start.date()
    while datetime.combine(day, time(), start.tzinfo) < end:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def studies_per_modality_per_day(studies: dict[tuple[str, str], set[str]],
                                 period: tuple[datetime, datetime] | None = None) -> list[dict[str, Any]]:
    """Distinct studies per day and modality; with ``period``, every day of it, a day without studies as 0.

    A gap in the chart or table would read as a day not reported rather than a day with no studies.
    """
    days = set(period_days(*period)) if period else set()
    days |= {day for day, _ in studies}
    modalities = sorted({modality for _, modality in studies})
    return [{"day": day, "modality": modality, "studies": len(studies.get((day, modality), ()))}
            for day in sorted(days) for modality in modalities]
