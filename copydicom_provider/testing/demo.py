"""``make demo``: the main job end to end on embedded defaults, then a table of what it did.

Two private Orthanc servers (source seeded with generated CT/MR studies, empty destination), a
SQLite Airflow home under ``.demo/``, the connections as ``AIRFLOW_CONN_*`` variables, and the
``copydicom_replicate`` DAG run by Airflow for the current hour's interval, twice: the second run
shows that nothing is copied twice. Everything it started is stopped at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.orthanc_server import OrthancServer

ROOT = Path.cwd() / ".demo"
REPO = Path(__file__).resolve().parents[2]


def _connection(server: OrthancServer) -> str:
    return json.dumps({"conn_type": "orthanc", "host": "127.0.0.1", "port": server.http_port,
                       "login": server.username, "password": server.password})


def _configure_airflow(source: OrthancServer, destination: OrthancServer) -> None:
    """Before Airflow is imported: a private home, SQLite, no examples, our DAGs and connections."""
    os.environ.update(
        AIRFLOW_HOME=str(ROOT / "airflow"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PARALLELISM="4",
        AIRFLOW_CONN_ORTHANC_SOURCE=_connection(source),
        AIRFLOW_CONN_ORTHANC_DESTINATION=_connection(destination),
    )


def _seed(server: OrthancServer) -> int:
    from copydicom_provider.hooks.orthanc import OrthancHook

    hook = OrthancHook.from_url(server.url_with_credentials)
    count = 0
    for item in generate_studies(patients=3, studies_per_patient=2, series_per_study=2, instances_per_series=10,
                                 rows=256, columns=256, seed=2016):
        hook.upload_instance(item.to_bytes())
        count += 1
    return count


def _run_dag(logical_date: datetime) -> dict:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.state import DagRunState

    dag = DagBag(dag_folder=str(REPO / "dags")).get_dag("copydicom_replicate")
    run = dag.test(logical_date=logical_date)
    if run.state != DagRunState.SUCCESS:
        raise SystemExit(f"copydicom_replicate run ended {run.state}; see the log above")
    summarize = next(ti for ti in run.get_task_instances() if ti.task_id == "summarize")
    return summarize.xcom_pull(task_ids="summarize")


def _table(rows: list[tuple[str, dict]]) -> str:
    columns = ("candidates", "already_present", "copied", "failed", "bytes", "seconds", "instances_per_second")
    header = f"{'job':<28}" + "".join(f"{c:>22}" for c in columns)
    lines = [header, "-" * len(header)]
    for name, summary in rows:
        lines.append(f"{name:<28}" + "".join(f"{summary.get(c, ''):>22}" for c in columns))
    return "\n".join(lines)


def main() -> int:
    shutil.rmtree(ROOT, ignore_errors=True)
    ROOT.mkdir(parents=True)
    source = OrthancServer(ROOT / "orthanc-source", name="source")
    destination = OrthancServer(ROOT / "orthanc-destination", name="destination")
    try:
        source.start()
        destination.start()
        _configure_airflow(source, destination)
        from airflow.utils import db

        from copydicom_provider.hooks.orthanc import OrthancHook

        for server in (source, destination):
            ok, message = OrthancHook.from_url(server.url_with_credentials).test_connection()
            print(f"test_connection {server.name}: {message}")
            if not ok:
                return 1
        seeded = _seed(source)
        print(f"seeded the source with {seeded} generated instances")
        db.initdb()
        # A manual run covers the last complete interval before its logical date: the next hour's
        # start gives [this hour, next hour), which holds what the source received just now.
        next_hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        first = _run_dag(next_hour)
        second = _run_dag(next_hour)
        print()
        print(_table([("copydicom_replicate", first), ("copydicom_replicate (rerun)", second)]))
        copied = len(OrthancHook.from_url(destination.url_with_credentials).list_ids("instances"))
        print(f"\nthe destination now holds {copied} of the source's {seeded} instances")
        return 0 if copied == seeded and second["copied"] == 0 else 1
    finally:
        source.stop(kill=True)
        destination.stop(kill=True)


if __name__ == "__main__":
    sys.exit(main())
