"""Celery topology: replicate throughput with 1 vs 2 workers, and the scheduler's cost per mapped batch.

A benchmark, not a test. PostgreSQL, Redis, Airflow with CeleryExecutor and Celery workers
(``worker_concurrency`` 2) as in ``make demo-celery``; one source Orthanc seeded with N generated
instances (~132 KB) in studies of 10 instances, so that ``window=all`` cuts them into batches of
20 studies. The same window is copied to a fresh destination first with ``worker-a`` alone, then
with ``worker-a`` and ``worker-b``. For each: the copy phase's wall time (first batch start to last
batch end), instances/s, and per batch the time from queued to running and the task's overhead
(its duration less the copy time it reported). Prints a table, then one JSON line.

    python benchmarks/celery_bench.py [--instances 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.testing.celery_services import CeleryAirflowServices
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.orthanc_server import OrthancServer

REPO = Path(__file__).resolve().parents[1]
DAG_ID = "copydicom_replicate"


def _connection(server: OrthancServer) -> str:
    return json.dumps({"conn_type": "orthanc", "host": "127.0.0.1", "port": server.http_port,
                       "login": server.username, "password": server.password})


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def replicate(services: CeleryAirflowServices, destination_conn_id: str) -> dict:
    run_id = f"bench__{time.time_ns()}"
    services.api("POST", f"dags/{DAG_ID}/dagRuns", json={
        "dag_run_id": run_id, "logical_date": datetime.now(timezone.utc).isoformat(),
        "conf": {"window": "all", "source_conn_id": "orthanc_source", "destination_conn_id": destination_conn_id},
    })
    run = services.wait_for_runs(DAG_ID, [run_id], timeout=1800)[run_id]
    assert run["state"] == "success", run
    tis = services.api("GET", f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 500})["task_instances"]
    copies = [ti for ti in tis if ti["task_id"] == "copy"]
    start = min(_time(ti["start_date"]) for ti in copies)
    end = max(_time(ti["end_date"]) for ti in copies)
    summary = services.xcom(DAG_ID, run_id, "summarize")
    queued = [(_time(ti["start_date"]) - _time(ti["queued_when"])).total_seconds()
              for ti in copies if ti["queued_when"]]
    overhead = []
    for ti in copies:
        part = services.api("GET", f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/copy/xcomEntries/summary",
                            params={"map_index": ti["map_index"]})["value"]
        part = json.loads(part) if isinstance(part, str) else part
        overhead.append(ti["duration"] - part["seconds"])
    wall = (end - start).total_seconds()
    run_wall = (_time(run["end_date"]) - _time(run["start_date"])).total_seconds()
    return {
        "workers": sorted({ti["hostname"] for ti in copies}),
        "batches": len(copies),
        "copied": summary["copied"],
        "copy_wall_s": round(wall, 1),
        "instances_per_s": round(summary["copied"] / wall, 1),
        "run_wall_s": round(run_wall, 1),
        "queued_to_running_s": round(statistics.mean(queued), 2) if queued else None,
        "task_overhead_s": round(statistics.mean(overhead), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=2000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="copydicom-celery-bench-"))
    source = OrthancServer(work / "source", name="source").start()
    destinations = [OrthancServer(work / f"dest{n}", name=f"dest{n}").start() for n in (1, 2)]
    services = CeleryAirflowServices(work / "airflow", REPO / "dags", workers=("worker-a",), env_extra={
        "AIRFLOW_CONN_ORTHANC_SOURCE": _connection(source),
        **{f"AIRFLOW_CONN_ORTHANC_DEST{n}": _connection(d) for n, d in enumerate(destinations, 1)},
        "COPYDICOM_REPLICATE_SCHEDULE": "0 0 1 1 *",  # no scheduled run during the measurement
    })
    try:
        hook = OrthancHook.from_url(source.url_with_credentials)
        for item in generate_studies(patients=args.instances // 100, studies_per_patient=10, series_per_study=1,
                                     instances_per_series=10, rows=256, columns=256):
            hook.upload_instance(item.to_bytes())
        services.start()
        services.unpause(DAG_ID)
        rows = [replicate(services, "orthanc_dest1")]
        services.start_workers("worker-b")
        rows.append(replicate(services, "orthanc_dest2"))
        keys = list(rows[0])
        print(" ".join(f"{k:>20}" for k in keys))
        for row in rows:
            print(" ".join(f"{row[k]!s:>20}" for k in keys))
        print(json.dumps(rows))
    finally:
        services.stop()
        source.stop(kill=True)
        for destination in destinations:
            destination.stop(kill=True)


if __name__ == "__main__":
    main()
