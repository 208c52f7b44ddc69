"""``make demo``: the three jobs end to end on embedded defaults, then a table of what each did.

Three private Orthanc servers (a source seeded with generated CT/MR studies and CT dose reports, an
empty destination, an empty research store), the Splunk-compatible test server from ``tests/``, a
SQLite Airflow home under ``.demo/``, the connections as ``AIRFLOW_CONN_*`` variables, and the DAGs
run by Airflow for the current hour's interval: ``copydicom_replicate`` twice (the second run shows
nothing is copied twice), ``copydicom_replicate_tags``, then ``copydicom_conditional_replicate``
with ``SeriesDescription="Dose Record"``, de-identified. Everything it started is stopped at the end.

Airflow's own log lines go to ``.demo/airflow.log``, so the terminal shows only the table and where
to look. ``make demo-ui`` (``python -m copydicom_provider.testing.demo_ui``) starts the demo's
servers again on their storage, with a whole Airflow on the demo's database, until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dose_sr import make_ct_dose_sr
from copydicom_provider.testing.dose_sr import to_bytes as dose_sr_bytes
from copydicom_provider.testing.orthanc_server import OrthancServer
from copydicom_provider.testing.splunk import SplunkTestServer  # the demo's stand-in for Splunk (so it says)

ROOT = Path.cwd() / ".demo"
REPO = Path(__file__).resolve().parents[2]
LOG = ROOT / "airflow.log"
STATE = ROOT / "servers.json"
#: Where ``make demo-ui`` serves Airflow's UI (``COPYDICOM_DEMO_UI_PORT`` to move it).
UI_PORT = int(os.environ.get("COPYDICOM_DEMO_UI_PORT", "8080"))


@contextlib.contextmanager
def _airflow_output_to(path: Path):
    """Send everything written to fds 1 and 2 (Airflow's task logs included) to ``path`` meanwhile."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _connection(server: OrthancServer) -> str:
    return json.dumps({"conn_type": "orthanc", "host": "127.0.0.1", "port": server.http_port,
                       "login": server.username, "password": server.password})


def _configure_airflow(source: OrthancServer, destination: OrthancServer, research: OrthancServer,
                       splunk_connection: str) -> None:
    """Before Airflow is imported: a private home, SQLite, no examples, our DAGs and connections."""
    research_connection = json.loads(_connection(research))
    research_connection["extra"] = {"pseudonym_secret": secrets.token_hex(16)}
    os.environ.update(
        AIRFLOW_CONN_ORTHANC_RESEARCH=json.dumps(research_connection),
        AIRFLOW_CONN_SPLUNK_DEFAULT=splunk_connection,
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
    for n in range(3):  # one CT dose report per patient, series "Dose Record"
        dataset, _ = make_ct_dose_sr(seed=n, patient_id=f"CDP2016{n:05d}", spiral_count=1 + n % 2)
        hook.upload_instance(dose_sr_bytes(dataset))
        count += 1
    return count


def _run_dag(dag_id: str, result_task: str, logical_date: datetime, conf: dict | None = None) -> dict:
    from airflow.utils.state import DagRunState

    from copydicom_provider.testing.dagbag import DagBag

    with _airflow_output_to(LOG):
        dag = DagBag(dag_folder=str(REPO / "dags")).get_dag(dag_id)
        run = dag.test(logical_date=logical_date, run_conf=conf or {})
    if run.state != DagRunState.SUCCESS:
        raise SystemExit(f"{dag_id} run ended {run.state}; see {LOG}")
    print(f"  {dag_id}: {run.state}", flush=True)
    result = next(ti for ti in run.get_task_instances() if ti.task_id == result_task)
    return result.xcom_pull(task_ids=result_task)


def _table(rows: list[tuple[str, dict]]) -> str:
    columns = ("candidates", "already", "done", "dose_reports", "failed", "seconds")
    header = f"{'job':<36}" + "".join(f"{c:>14}" for c in columns)
    lines = [header, "-" * len(header)]
    for name, summary in rows:
        values = {
            "candidates": summary.get("candidates"),
            "already": summary.get("already_present", summary.get("already_indexed")),
            "done": summary.get("copied", summary.get("sent")),
            "dose_reports": summary.get("dose_reports", ""),
            "failed": summary.get("failed"),
            "seconds": summary.get("seconds"),
        }
        lines.append(f"{name:<36}" + "".join(f"{values[c]!s:>14}" for c in columns))
    return "\n".join(lines)


def main() -> int:
    shutil.rmtree(ROOT, ignore_errors=True)
    ROOT.mkdir(parents=True)
    source = OrthancServer(ROOT / "orthanc-source", name="source")
    destination = OrthancServer(ROOT / "orthanc-destination", name="destination")
    research = OrthancServer(ROOT / "orthanc-research", name="research")
    splunk = SplunkTestServer(persist_path=ROOT / "splunk-events.jsonl")
    try:
        for server in (source, destination, research):
            server.start()
        splunk.start()
        _configure_airflow(source, destination, research, splunk.connection_json())
        with _airflow_output_to(LOG):  # importing Airflow may log already (alembic's plugins on 3.1)
            from airflow.utils import db

            from copydicom_provider.hooks.orthanc import OrthancHook

        for server in (source, destination, research):
            ok, message = OrthancHook.from_url(server.url_with_credentials).test_connection()
            print(f"test_connection {server.name}: {message}")
            if not ok:
                return 1
        seeded = _seed(source)
        print(f"seeded the source with {seeded} generated instances")
        with _airflow_output_to(LOG):
            db.initdb()
        print(f"running the DAGs with Airflow (its log: {LOG}) ...", flush=True)
        # A manual run covers from the start of the last complete interval up to now.
        next_hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        rows = [
            ("copydicom_replicate", _run_dag("copydicom_replicate", "summarize", next_hour)),
            # A minute later: the same data interval, another logical date, so the grid shows both runs.
            ("copydicom_replicate (rerun)", _run_dag("copydicom_replicate", "summarize",
                                                     next_hour + timedelta(minutes=1))),
            ("copydicom_replicate_tags", _run_dag("copydicom_replicate_tags", "summarize", next_hour)),
            ("copydicom_conditional_replicate", _run_dag(
                "copydicom_conditional_replicate", "copy", next_hour,
                {"query": 'SeriesDescription="Dose Record"', "anonymize": True},
            )),
        ]
        print()
        print(_table(rows))
        copied = len(OrthancHook.from_url(destination.url_with_credentials).list_ids("instances"))
        research_holds = len(OrthancHook.from_url(research.url_with_credentials).list_ids("instances"))
        print(f"\nthe destination holds {copied} of the source's {seeded} instances; the research store holds "
              f"{research_holds} de-identified dose reports; Splunk's test server kept {len(splunk.events)} events")
        STATE.write_text(json.dumps({s.name: s.http_port for s in (source, destination, research)}))
        print("\nwhere to look: `make demo-ui` starts these servers again, on the same ports, with Airflow's UI "
              f"on this demo's runs at http://127.0.0.1:{UI_PORT}")
        for server in (source, destination, research):
            print(f"  Orthanc Explorer, {server.name}: {server.url}/app/explorer.html (user {server.username})")
        print(f"  Airflow's log of the runs: {LOG}")
        return 0 if copied == seeded and rows[1][1]["copied"] == 0 and research_holds == 3 else 1
    finally:
        splunk.stop()
        for server in (source, destination, research):
            server.stop(kill=True)


if __name__ == "__main__":
    sys.exit(main())
