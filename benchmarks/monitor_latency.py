"""Monitor-mode latency under Airflow's real scheduler, across a scheduler restart (a benchmark, not a test).

Starts a source and a destination Orthanc and Airflow's api-server, scheduler and dag-processor
(SQLite, LocalExecutor), unpauses only ``copydicom_monitor`` (schedule from ``--schedule``), then
feeds generated instances into the source at a steady pace (default 200 over 5 minutes). In the
middle of the feed, the scheduler and the dag-processor are stopped (SIGTERM to their whole process
groups, executor workers included, as systemd's default does) for ``--outage-seconds`` and started
again; ``--stop-mid-task copy`` (or ``enumerate``, ``summarize``) times the stop to hit that task.
The api-server stays up.
After the feed, it waits (bounded) until every instance has reached the destination.

An instance's latency is its ``ReceptionDate`` on the destination minus its ``ReceptionDate`` on
the source (Orthanc writes both in UTC, to the second, from the same clock). Nothing is excluded:
an instance that never arrives counts as lost and as an infinite latency in the percentiles. To
explain the figures it also reads every DAG run from the REST API: how late each run started after
its interval ended (the scheduler's delay), how long it ran, and how long its tasks waited for a worker.

Prints a table, then, as its last line, one JSON object with ``monitor_latency_median_s``,
``monitor_latency_p95_s``, ``lost``, ``instances`` and ``schedule``.

    python benchmarks/monitor_latency.py [--instances 200] [--minutes 5] [--schedule 30s] [--outage-seconds 75]
                                         [--stop-mid-task copy] [--final-wait 300] [--keep]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from monitor_report import Fed, Outage, figures, phases, print_tables

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # tests.support.fixtures_orthanc holds the connection helper

from copydicom_provider.hooks.orthanc import OrthancHook  # noqa: E402
from copydicom_provider.testing.airflow_services import AirflowServices, _signal_group  # noqa: E402
from copydicom_provider.testing.dicom_generator import generate_studies  # noqa: E402
from copydicom_provider.testing.orthanc_server import OrthancServer  # noqa: E402
from tests.support.fixtures_orthanc import connection_json  # noqa: E402

DAG_ID = "copydicom_monitor"
#: The services a scheduler outage stops; the api-server stays up (workers report to it).
OUTAGE_SERVICES = ("scheduler", "dag-processor")
STOP_GRACE_S = 30.0
TASKS = ("enumerate", "copy", "summarize")


class RestartableServices(AirflowServices):
    """AirflowServices that can stop and start one service while the others keep running."""

    closed = False

    def stop(self) -> None:
        self.closed = True  # the restarting thread starts nothing after this
        super().stop()

    def stop_services(self, names: tuple[str, ...]) -> None:
        """SIGTERM to each service's process group (executor workers too), SIGKILL after a grace period."""
        processes = [self.processes.pop(name) for name in names]
        for process in processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=10)

    def start_services(self, names: tuple[str, ...], timeout: float = 120) -> None:
        """Start services again in the same home, appending to their logs; wait until all are healthy."""
        for name in names:
            if self.closed:
                raise RuntimeError(f"not starting {name}: the services are being stopped")
            log = open(self.home / f"{name}.log", "ab")
            self.processes[name] = subprocess.Popen(
                [self.airflow, name], env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            log.close()
        self._wait_healthy(timeout)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def parse_reception(value: str) -> datetime:
    """Orthanc's ``ReceptionDate`` (``20261129T093408``, UTC, whole seconds)."""
    return datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)


def parse_api_date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def running_task(services: AirflowServices, task_id: str, wait_s: float) -> str | None:
    """Wait (at most ``wait_s``) until a ``task_id`` task of the DAG is running; its run id, or None."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        running = services.api("GET", f"dags/{DAG_ID}/dagRuns/~/taskInstances",
                               params={"state": "running", "task_id": task_id})["task_instances"]
        if running:
            return running[0]["dag_run_id"]
        time.sleep(0.3)
    return None


def run_outage(services: RestartableServices, at_s: float, seconds: float, outage: Outage,
               mid_task: str | None) -> None:
    """Sleep ``at_s``, stop the scheduler and dag-processor for ``seconds``, start them again.

    With ``mid_task``, the stop waits (up to two minutes) for that task to be running, so the
    restart also interrupts work in flight.
    """
    try:
        time.sleep(at_s)
        if mid_task:
            run_id = running_task(services, mid_task, 120)
            outage.interrupted = f"{mid_task} task of {run_id}" if run_id else f"no {mid_task} running within 120 s"
        outage.stopping = utc_now()
        services.stop_services(OUTAGE_SERVICES)
        outage.stopped = utc_now()
        print(f"{outage.stopped:%H:%M:%S} scheduler and dag-processor stopped "
              f"({(outage.stopped - outage.stopping).total_seconds():.0f} s after SIGTERM)"
              + (f"; running then: {outage.interrupted}" if mid_task else ""), flush=True)
        time.sleep(seconds)
        outage.started = utc_now()
        services.start_services(OUTAGE_SERVICES)
        outage.healthy = utc_now()
        print(f"{outage.healthy:%H:%M:%S} scheduler and dag-processor healthy again "
              f"({(outage.healthy - outage.started).total_seconds():.0f} s after their start)", flush=True)
    except Exception as error:
        outage.error = f"{type(error).__name__}: {error}"


def feed(source: OrthancHook, count: int, seconds: float) -> Fed:
    """POST ``count`` generated instances of ~132 KB to the source, one every ``seconds / count``."""
    fed = Fed()
    pace = seconds / count
    generated = generate_studies(patients=math.ceil(count / 20), studies_per_patient=1, series_per_study=2,
                                 instances_per_series=10, rows=256, columns=256, seed=2026)
    started = time.monotonic()
    for index, item in enumerate(itertools.islice(generated, count)):
        due = started + index * pace
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        else:
            fed.max_behind_s = max(fed.max_behind_s, now - due)
        reply = source.upload_instance(item.to_bytes())
        if reply.get("ID") != item.orthanc_id:
            raise RuntimeError(f"source stored instance {index} as {reply.get('ID')}, expected {item.orthanc_id}")
        fed.ids.append(item.orthanc_id)
        if (index + 1) % max(1, count // 10) == 0:
            print(f"{utc_now():%H:%M:%S} fed {index + 1}/{count}", flush=True)
    return fed


def wait_delivered(destination: OrthancHook, ids: list[str], timeout: float) -> set[str]:
    """Poll the destination until it holds every id or ``timeout`` passes; returns the missing ids."""
    deadline = time.monotonic() + timeout
    while True:
        missing = set(ids) - set(destination.list_ids("instances"))
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(2)


def latencies(
    source: OrthancHook, destination: OrthancHook, ids: list[str], missing: set[str]
) -> list[tuple[datetime, float]]:
    """(reception on the source, latency in seconds) per instance; ``inf`` for a lost one."""
    result = []
    for instance_id in ids:
        received = parse_reception(source.instance_metadata(instance_id)["ReceptionDate"])
        if instance_id in missing:
            result.append((received, math.inf))
            continue
        arrived = parse_reception(destination.instance_metadata(instance_id)["ReceptionDate"])
        result.append((received, (arrived - received).total_seconds()))
    return result


def dag_runs(services: AirflowServices) -> list[dict[str, Any]]:
    """Every run of the DAG with its scheduler delay, duration and its tasks' waits for a worker."""
    runs, offset = [], 0
    while True:
        page = services.api("GET", f"dags/{DAG_ID}/dagRuns", params={"limit": 100, "offset": offset,
                                                                     "order_by": "run_after"})["dag_runs"]
        runs += page
        offset += len(page)
        if len(page) < 100:
            break
    rows = []
    for run in runs:
        start, end = parse_api_date(run.get("start_date")), parse_api_date(run.get("end_date"))
        due = parse_api_date(run.get("run_after")) or parse_api_date(run.get("data_interval_end"))
        queued = parse_api_date(run.get("queued_at"))
        tasks = services.api("GET", f"dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances")["task_instances"]
        waits = [(s - q).total_seconds() for ti in tasks
                 if (q := parse_api_date(ti.get("queued_when"))) and (s := parse_api_date(ti.get("start_date")))]
        summary = None
        if run["state"] == "success" and run["run_type"] == "scheduled":
            summary = services.xcom(DAG_ID, run["dag_run_id"], "summarize")
            summary = json.loads(summary) if isinstance(summary, str) else summary
        rows.append({
            "run_id": run["dag_run_id"], "state": run["state"], "due": due, "start": start, "end": end,
            "created_delay_s": (queued - due).total_seconds() if queued and due else None,
            "start_delay_s": (start - due).total_seconds() if start and due else None,
            "duration_s": (end - start).total_seconds() if start and end else None,
            "task_wait_s": sum(waits), "tasks": len(tasks),
            "tries": max((ti.get("try_number") or 0 for ti in tasks), default=0),
            "task_durations": {ti["task_id"]: ti["duration"] for ti in tasks
                               if ti.get("duration") is not None and ti.get("map_index", -1) <= 0},
            "copied": (summary or {}).get("copied"),
        })
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=200, help="instances fed to the source (default 200)")
    parser.add_argument("--minutes", type=float, default=5.0, help="over this many minutes, at a steady pace")
    parser.add_argument("--schedule", default="30s", help="COPYDICOM_MONITOR_SCHEDULE: 15s, 30s, 1m, or cron")
    parser.add_argument("--outage-seconds", type=float, default=75.0,
                        help="how long the scheduler and dag-processor stay stopped, mid-feed (0: no outage)")
    parser.add_argument("--final-wait", type=float, default=300.0,
                        help="after the feed, wait at most this long for the destination to hold everything")
    parser.add_argument("--stop-mid-task", choices=TASKS,
                        help="stop the scheduler while this task is running (its worker is stopped with it)")
    parser.add_argument("--stop-mid-copy", dest="stop_mid_task", action="store_const", const="copy",
                        help="short for --stop-mid-task copy")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (Airflow and Orthanc logs)")
    args = parser.parse_args()
    if args.instances < 1 or args.minutes <= 0:
        parser.error("--instances must be >= 1 and --minutes > 0")

    workdir = Path(tempfile.mkdtemp(prefix="copydicom-monitor-bench-"))
    source = OrthancServer(workdir / "source", name="source")
    destination = OrthancServer(workdir / "destination", name="destination")
    services: RestartableServices | None = None
    outage, fed, failed = Outage(), Fed(), True
    try:
        source.start()
        destination.start()
        services = RestartableServices(workdir / "airflow", REPO_ROOT / "dags", env_extra={
            "AIRFLOW_CONN_ORTHANC_SOURCE": connection_json(source),
            "AIRFLOW_CONN_ORTHANC_DESTINATION": connection_json(destination),
            "COPYDICOM_MONITOR_SCHEDULE": args.schedule,
        })
        print(f"{utc_now():%H:%M:%S} starting Airflow (api-server, scheduler, dag-processor) ...", flush=True)
        services.start()
        services.unpause(DAG_ID)
        print(f"{utc_now():%H:%M:%S} {DAG_ID} unpaused (schedule {args.schedule}); feeding {args.instances} "
              f"instances over {args.minutes:g} min", flush=True)
        feed_seconds = args.minutes * 60
        restarter = None
        if args.outage_seconds > 0:
            stop_at = max(0.0, feed_seconds / 2 - args.outage_seconds / 2)  # the outage is centred on the feed
            restarter = threading.Thread(target=run_outage, daemon=True, args=(
                services, stop_at, args.outage_seconds, outage, args.stop_mid_task))
            restarter.start()
        source_hook = OrthancHook.from_url(source.url_with_credentials)
        destination_hook = OrthancHook.from_url(destination.url_with_credentials)
        fed = feed(source_hook, args.instances, feed_seconds)
        if restarter:
            restarter.join(timeout=args.outage_seconds + 4 * STOP_GRACE_S + 360)
            if restarter.is_alive() or outage.error:
                raise RuntimeError(f"the scheduler restart did not complete: {outage.error or 'timed out'}")
        print(f"{utc_now():%H:%M:%S} feed done; waiting up to {args.final_wait:g} s for the destination", flush=True)
        missing = wait_delivered(destination_hook, fed.ids, args.final_wait)
        measured = latencies(source_hook, destination_hook, fed.ids, missing)
        runs = dag_runs(services)
        failed = False
    finally:
        if services is not None:
            services.stop()
        source.stop(kill=True)
        destination.stop(kill=True)
        if failed or args.keep:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    by_phase = phases(measured, outage)
    print_tables(args, fed, by_phase, missing, outage, runs)
    print(json.dumps(figures(args, fed, by_phase, missing, outage, runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
