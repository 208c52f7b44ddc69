"""What a ``monitor_latency.py`` run measured (the outage, the feed), and its report: tables and the JSON line."""

from __future__ import annotations

import argparse
import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Outage:
    """When the scheduler was down (UTC), filled in by :func:`run_outage` from its thread."""

    stopping: datetime | None = None
    stopped: datetime | None = None
    started: datetime | None = None
    healthy: datetime | None = None
    #: with ``--stop-mid-task``: the task that was running when the services were stopped
    interrupted: str | None = None
    error: str | None = None


@dataclass
class Fed:
    """The instances sent to the source, in order, and how far behind the pace the feeder fell."""

    ids: list[str] = field(default_factory=list)
    max_behind_s: float = 0.0


def nearest_rank(values: list[float], q: float) -> float:
    """The ``q`` quantile by nearest rank: a value that occurred (``inf`` when it falls on a lost one)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


def stats(values: list[float]) -> dict[str, float]:
    return {"count": len(values), "median": nearest_rank(values, 0.5), "p95": nearest_rank(values, 0.95),
            "max": max(values, default=math.nan)}


def finite(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def json_number(value: float) -> float | None:
    return round(value, 1) if math.isfinite(value) else None


def phases(measured: list[tuple[datetime, float]], outage: Outage) -> dict[str, list[float]]:
    """Latencies of all instances, and of those received before, during and after the outage."""
    result = {"all": [latency for _, latency in measured]}
    if outage.stopping and outage.healthy:
        down, up = outage.stopping, outage.healthy
        result["received before the outage"] = [lat for at, lat in measured if at < down]
        result["received while stopped/restarting"] = [lat for at, lat in measured if down <= at < up]
        result["received after the restart"] = [lat for at, lat in measured if at >= up]
    return result


def print_tables(args: argparse.Namespace, fed: Fed, by_phase: dict[str, list[float]], missing: set[str],
                 outage: Outage, runs: list[dict[str, Any]]) -> None:
    print()
    print(f"monitor latency, schedule {args.schedule}, {len(fed.ids)} instances over {args.minutes:g} min "
          f"(feeder at most {fed.max_behind_s:.1f} s behind its pace); ReceptionDate has 1 s resolution")
    if outage.stopping and outage.healthy:
        print(f"scheduler + dag-processor: SIGTERM {outage.stopping:%H:%M:%S}, exited {outage.stopped:%H:%M:%S}, "
              f"started {outage.started:%H:%M:%S}, healthy {outage.healthy:%H:%M:%S} UTC"
              + (f"; interrupted: {outage.interrupted}" if outage.interrupted else ""))
    print(f"{'instances':<36}{'count':>6}{'median s':>10}{'p95 s':>8}{'max s':>8}")
    for name, values in by_phase.items():
        s = stats(values)
        print(f"{name:<36}{s['count']:>6}{s['median']:>10.0f}{s['p95']:>8.0f}{s['max']:>8.0f}")
    print(f"lost (not on the destination after the final wait of {args.final_wait:g} s): {len(missing)}")
    print()
    print("DAG runs: created/started = seconds after the run was due (its interval's end); task wait = "
          "seconds its tasks spent queued for a worker, summed; tries = highest try number of its tasks")
    print(f"{'DAG run':<40}{'state':>9}{'created':>9}{'started':>9}{'duration':>10}{'task wait':>11}{'tries':>7}"
          f"{'copied':>8}")
    for run in runs:
        cells = ["-" if run[key] is None else f"{run[key]:.1f}"
                 for key in ("created_delay_s", "start_delay_s", "duration_s")]
        copied = "-" if run["copied"] is None else run["copied"]
        print(f"{run['run_id']:<40}{run['state']:>9}{cells[0]:>9}{cells[1]:>9}{cells[2]:>10}"
              f"{run['task_wait_s']:>11.1f}{run['tries']:>7}{copied:>8}")
    per_task = task_medians(runs)
    if per_task:
        print("median task duration in runs of one try, s (each task is its own process): "
              + ", ".join(f"{task} {seconds:.1f}" for task, seconds in per_task.items()))


def task_medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median duration of each task over the successful runs whose tasks ran once (not the outage's)."""
    clean = [r["task_durations"] for r in runs if r["state"] == "success" and r["tries"] == 1]
    names = dict.fromkeys(name for durations in clean for name in durations)
    return {name: statistics.median(d[name] for d in clean if name in d) for name in names}


def figures(args: argparse.Namespace, fed: Fed, by_phase: dict[str, list[float]], missing: set[str],
            outage: Outage, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON last line: the targets' figures first, then what explains them."""
    overall = stats(by_phase["all"])
    created = finite([r["created_delay_s"] for r in runs])
    delays, durations = finite([r["start_delay_s"] for r in runs]), finite([r["duration_s"] for r in runs])
    down = (outage.healthy - outage.stopping).total_seconds() if outage.stopping and outage.healthy else None
    return {
        "monitor_latency_median_s": json_number(overall["median"]),
        "monitor_latency_p95_s": json_number(overall["p95"]),
        "monitor_latency_max_s": json_number(overall["max"]),
        "lost": len(missing),
        "instances": len(fed.ids),
        "schedule": args.schedule,
        "minutes": args.minutes,
        "outage_s": None if down is None else round(down, 1),
        "interrupted": outage.interrupted,
        "latency_by_phase": {name: {k: v if k == "count" else json_number(v) for k, v in stats(values).items()}
                             for name, values in by_phase.items() if name != "all"},
        "dag_runs": len(runs),
        "dag_runs_failed": sum(r["state"] == "failed" for r in runs),
        "run_created_delay_median_s": json_number(statistics.median(created)) if created else None,
        "run_start_delay_median_s": json_number(statistics.median(delays)) if delays else None,
        "run_start_delay_max_s": json_number(max(delays)) if delays else None,
        "run_duration_median_s": json_number(statistics.median(durations)) if durations else None,
        "run_duration_max_s": json_number(max(durations)) if durations else None,
        "task_duration_median_s": {name: json_number(value) for name, value in task_medians(runs).items()},
        "target_met": len(missing) == 0 and overall["median"] <= 60 and overall["p95"] <= 120,
    }
