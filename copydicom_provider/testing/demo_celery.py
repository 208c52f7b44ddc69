"""``make demo-celery``: the production topology on this machine, one replicate run, a table of who did what.

PostgreSQL and Redis as private instances, Airflow with CeleryExecutor (api-server, scheduler,
dag-processor, triggerer) and two Celery workers, ``worker-a`` and ``worker-b``, with
``worker_concurrency`` 2; two Orthanc servers (a source seeded with 100 one-series studies, an empty
destination), all under ``.demo-celery/`` and on loopback. A ``copydicom_replicate`` run over
``window=all`` is cut into 5 batches; the table shows which worker copied each. ``--keep`` leaves
it all running (the UI's address is printed) until Ctrl-C. Everything started is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

from copydicom_provider.testing.celery_services import CeleryAirflowServices
from copydicom_provider.testing.demo import REPO, _connection
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.orthanc_server import OrthancServer

ROOT = Path.cwd() / ".demo-celery"
DAG_ID = "copydicom_replicate"


def _seed(server: OrthancServer) -> int:
    from copydicom_provider.hooks.orthanc import OrthancHook

    hook = OrthancHook.from_url(server.url_with_credentials)
    count = 0
    for item in generate_studies(patients=5, studies_per_patient=20, series_per_study=1, instances_per_series=5):
        hook.upload_instance(item.to_bytes())
        count += 1
    return count


def _run(services: CeleryAirflowServices) -> dict:
    run_id = f"demo_celery__{time.time_ns()}"
    services.api("POST", f"dags/{DAG_ID}/dagRuns", json={
        "dag_run_id": run_id, "logical_date": datetime.now(timezone.utc).isoformat(), "conf": {"window": "all"},
    })
    run = services.wait_for_runs(DAG_ID, [run_id], timeout=600)[run_id]
    instances = services.api("GET", f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", params={"limit": 200})
    print(f"\n{'task':<12}{'batch':>6}  {'worker':<10}{'try':>4}{'seconds':>9}")
    for ti in sorted(instances["task_instances"], key=lambda t: (t["start_date"] or "", t["map_index"])):
        batch = "" if ti["map_index"] < 0 else str(ti["map_index"])
        print(f"{ti['task_id']:<12}{batch:>6}  {ti['hostname'] or '-':<10}{ti['try_number']:>4}"
              f"{ti['duration'] or 0:>9.1f}")
    summary = services.xcom(DAG_ID, run_id, "summarize")
    summary = json.loads(summary) if isinstance(summary, str) else summary
    print(f"\nrun {run['state']}: {summary['copied']} copied, {summary['already_present']} already present, "
          f"{summary['failed']} failed")
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave everything running until Ctrl-C")
    args = parser.parse_args(argv)
    shutil.rmtree(ROOT, ignore_errors=True)
    ROOT.mkdir(parents=True)
    source = OrthancServer(ROOT / "orthanc-source", name="source")
    destination = OrthancServer(ROOT / "orthanc-destination", name="destination")
    services: CeleryAirflowServices | None = None
    try:
        source.start()
        destination.start()
        print(f"seeded the source with {_seed(source)} generated instances")
        services = CeleryAirflowServices(ROOT / "airflow", REPO / "dags", env_extra={
            "AIRFLOW_CONN_ORTHANC_SOURCE": _connection(source),
            "AIRFLOW_CONN_ORTHANC_DESTINATION": _connection(destination),
            # no scheduled run at unpause (it would copy everything first): the demo's run shows the spread
            "COPYDICOM_REPLICATE_SCHEDULE": "0 0 1 1 *",
        })
        print("starting PostgreSQL, Redis, Airflow (CeleryExecutor) and two Celery workers ...")
        services.start()
        services.unpause(DAG_ID)
        run = _run(services)
        if args.keep:
            print(f"\nAirflow UI: {services.url} (every user an admin); logs under {services.home}. Ctrl-C stops all.")
            while True:
                time.sleep(3600)
        return 0 if run["state"] == "success" else 1
    except KeyboardInterrupt:
        return 0
    finally:
        if services is not None:
            services.stop()
        source.stop(kill=True)
        destination.stop(kill=True)


if __name__ == "__main__":
    raise SystemExit(main())
