"""Run Airflow as its users run it on one machine: api-server + scheduler + dag-processor on SQLite.

Used by the integration tests and the demo. Everything listens on loopback, lives in its own
``AIRFLOW_HOME``, and is stopped by process group at the end. Backfills only execute with all
three services up (the workers call the api-server's ``/execution/`` API) and the DAG unpaused.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from copydicom_provider.dag_building.support import ORTHANC_POOL
from copydicom_provider.testing.orthanc_server import free_port

SERVICES = ("api-server", "scheduler", "dag-processor")

#: SQLite's default 5 s busy timeout is too short when the scheduler, the dag-processor, the
#: api-server and a CLI command write at once ("database is locked"); wait longer instead.
SQLITE_CONNECT_ARGS = {"timeout": 60}
TERMINAL_STATES = {"success", "failed"}


@dataclass
class AirflowServices:
    home: Path
    dags_folder: Path
    env_extra: dict[str, str] = field(default_factory=dict, repr=False)  # connections carry passwords
    port: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    #: the services ``start()`` starts; a subclass adds its own (triggerer, workers)
    services: tuple[str, ...] = SERVICES
    #: what ``/api/v2/monitor/health`` must report healthy before ``start()`` returns
    health_parts: tuple[str, ...] = ("metadatabase", "scheduler", "dag_processor")

    @property
    def airflow(self) -> str:
        return str(Path(sys.executable).with_name("airflow"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        return {
            **base,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": f"{__name__}.SQLITE_CONNECT_ARGS",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # A loaded CI machine can take longer than the defaults (30 s, 50 s, 50 s) to parse a file;
            # a parse cut short leaves the DAG stale, and the scheduler then starts none of its runs.
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "240",
            "AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT": "300",
            "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "360",
            **self.env_extra,
        }

    def cli(self, *args: str, timeout: float = 180) -> str:
        """Run one ``airflow`` CLI command in this home; raises with its output on failure."""
        result = subprocess.run(
            [self.airflow, *args], env=self.env(), capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result.stdout

    def start(self, timeout: float = 120) -> AirflowServices:
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self.cli("db", "migrate")
        self.cli("pools", "set", ORTHANC_POOL, "4", "copydicom tasks against Orthanc archives")
        for name in self.services:
            self.start_service(name)
        self._wait_healthy(timeout)
        return self

    def start_service(self, name: str) -> None:
        """Start one service (``scheduler``, ``dag-processor``, ``api-server``) in its own process group."""
        log = open(self.home / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            self.service_command(name), env=self.service_env(name), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def service_command(self, name: str) -> list[str]:
        """The command line of one service (a subclass names its own, e.g. Celery workers)."""
        if name == "triggerer":  # its log server would listen on every interface, on a fixed port
            return [self.airflow, name, "--skip-serve-logs"]
        address = ["--host", "127.0.0.1", "--port", str(self.port)] if name == "api-server" else []
        return [self.airflow, name, *address]

    def service_env(self, name: str) -> dict[str, str]:
        """The environment of one service: the same for all here."""
        return self.env()

    def stop_service(self, name: str) -> None:
        """Stop one service and its children at once (SIGKILL to the group): an outage, not a shutdown."""
        process = self.processes.pop(name)
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=30)

    @contextlib.contextmanager
    def only_api_server(self) -> Iterator[None]:
        """The scheduler and dag-processor shut down (not killed) meanwhile, then started again.

        For an API call that rewrites runs the scheduler is working on (a backfill that reprocesses
        them): on SQLite a collision can fail the call after Airflow committed part of it, which a
        retry cannot undo.
        """
        quiet = [name for name in ("scheduler", "dag-processor") if name in self.processes]
        for name in quiet:
            process = self.processes.pop(name)
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=30)
        try:
            yield
        finally:
            for name in reversed(quiet):
                self.start_service(name)

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"airflow {name} exited; see {self.home / (name + '.log')}")
            try:
                health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
                if all(health.get(part, {}).get("status") == "healthy" for part in self.health_parts):
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(1)
        raise RuntimeError(f"Airflow services not healthy within {timeout:g} s; logs in {self.home}")

    def stop(self) -> None:
        """Stop every service's whole process group (gunicorn/uvicorn workers, executor workers)."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)
        self.processes.clear()

    def __enter__(self) -> AirflowServices:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- REST API (simple auth manager with every user an admin: no token needed on loopback)
    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.url}/api/v2/{path.lstrip('/')}", timeout=30, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.api("GET", f"dags/{dag_id}")
                return
            except RuntimeError:  # noqa: PERF203 -- polling until the DAG is parsed: the error is the answer "not yet"
                time.sleep(1)
        raise RuntimeError(f"DAG {dag_id} was not parsed within {timeout:g} s")

    def unpause(self, dag_id: str) -> None:
        self.wait_for_dag(dag_id)
        self.api("PATCH", f"dags/{dag_id}", json={"is_paused": False})

    def wait_for_runs(self, dag_id: str, run_ids: list[str], timeout: float = 300) -> dict[str, dict]:
        """Wait until every listed run is in a final state; returns them by run id."""
        deadline = time.monotonic() + timeout
        while True:
            listed = self.api("GET", f"dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]
            runs = {r["dag_run_id"]: r for r in listed}
            wanted = {run_id: runs.get(run_id) for run_id in run_ids}
            if all(run and run["state"] in TERMINAL_STATES for run in wanted.values()):
                return wanted  # type: ignore[return-value]
            if time.monotonic() > deadline:
                states = {run_id: run and run["state"] for run_id, run in wanted.items()}
                raise RuntimeError(f"runs not finished within {timeout:g} s: {states}\n{self.diagnosis()}")
            time.sleep(2)

    def diagnosis(self, lines: int = 15) -> str:
        """What a wait that timed out needs: each service alive or not, its last warnings and errors.

        Passwords of the connections in ``env_extra`` are masked, so the text can go into test output.
        """
        secrets = _passwords(self.env_extra)
        parts = []
        for name in self.services:
            process = self.processes.get(name)
            state = "not running" if process is None else ("alive" if process.poll() is None else
                                                           f"exited with {process.returncode}")
            log = self.home / f"{name}.log"
            text = log.read_text(errors="replace") if log.exists() else ""
            notable = [line for line in text.splitlines()
                       if any(word in line.lower() for word in ("error", "warn", "stale", "cannot be started"))]
            shown = "\n".join(notable[-lines:])
            for secret in secrets:
                shown = shown.replace(secret, "***")
            parts.append(f"-- airflow {name}: {state}\n{shown}")
        return "\n".join(parts)

    def create_backfill(self, dag_id: str, first: str, last: str, *extra: str, via: str = "cli") -> None:
        """``airflow backfill create`` (or ``POST /backfills``), retried while SQLite is busy.

        SQLite answers "database is locked" at once, whatever the busy timeout, when two
        connections both upgrade a read to a write; the command then rolled back and is retried.
        The REST API hides the reason behind HTTP 500 "Database error".
        """
        for attempt in range(6):
            try:
                if via == "cli":
                    self.cli("backfill", "create", "--dag-id", dag_id, "--from-date", first, "--to-date", last, *extra)
                else:
                    self.api("POST", "backfills", json={"dag_id": dag_id, "from_date": first, "to_date": last,
                                                         **dict(zip(extra[::2], extra[1::2], strict=False))})
                return
            except RuntimeError as error:  # noqa: PERF203 -- a retry loop: the error decides whether to retry
                text = str(error).lower()
                if ("database is locked" not in text and "database error" not in text) or attempt == 5:
                    raise
                backfills = self.api("GET", "backfills", params={"dag_id": dag_id})["backfills"]
                if any(not b.get("completed_at") for b in backfills):
                    return  # it was committed before the error
                time.sleep(2)

    def wait_backfills_completed(self, dag_id: str, timeout: float = 120) -> None:
        """The scheduler marks a backfill complete a little after its last run; a new one waits for that."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            backfills = self.api("GET", "backfills", params={"dag_id": dag_id})["backfills"]
            if all(b.get("completed_at") for b in backfills):
                return
            time.sleep(1)
        raise RuntimeError(f"backfills of {dag_id} not completed within {timeout:g} s")

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        entry = self.api("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}")
        return entry["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1) -> str:
        """A task's log as read through the REST API, one event per line."""
        reply = self.api(
            "GET",
            f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"map_index": map_index, "full_content": "true"},
        )
        content = reply.get("content", [])
        if isinstance(content, str):
            return content
        return "\n".join(str(line.get("event", line)) if isinstance(line, dict) else str(line) for line in content)


def serving(home: Path, dags_folder: Path, env_extra: dict[str, str], *unpaused: str) -> Iterator[AirflowServices]:
    """Airflow's services for a test module's fixture (``yield from``), the ``unpaused`` DAGs unpaused."""
    with AirflowServices(home, dags_folder, env_extra=env_extra) as services:
        for dag_id in unpaused:
            services.unpause(dag_id)
        yield services


def _passwords(env_extra: dict[str, str]) -> list[str]:
    """The passwords in ``AIRFLOW_CONN_*`` values (JSON or URI form)."""
    import json
    from urllib.parse import unquote, urlsplit

    found = []
    for value in env_extra.values():
        try:
            password = json.loads(value).get("password")
        except (ValueError, AttributeError):
            password = urlsplit(value).password if "://" in value else None
            password = unquote(password) if password else None
        if password:
            found.append(str(password))
    return found


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
