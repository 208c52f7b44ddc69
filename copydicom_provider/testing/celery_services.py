"""Airflow as sites run it on more than one machine: PostgreSQL, CeleryExecutor with Redis, named workers.

The same :class:`AirflowServices` (api-server, scheduler, dag-processor) plus a triggerer and
Celery workers, each worker with its own name and ``worker_concurrency``. Everything listens on
loopback; PostgreSQL and Redis are private instances on free ports, stopped by PID with the rest.
Used by ``tests/system/test_celery_topology.py`` and ``make demo-celery``.

The workers share this machine's ``AIRFLOW_HOME``, so the api-server reads their log files from
disk; they and the triggerer do not serve logs (that server would listen on every interface). Each
worker reports its own hostname (``[core] hostname_callable``), so task instances show who ran them.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field

from copydicom_provider.testing.airflow_services import SERVICES, AirflowServices
from copydicom_provider.testing.postgres_server import PostgresServer
from copydicom_provider.testing.redis_server import RedisServer

#: The environment variable a worker's hostname is read from (see :func:`worker_hostname`).
WORKER_NAME_VARIABLE = "COPYDICOM_WORKER_HOSTNAME"
WORKER_PREFIX = "worker-"


def worker_hostname() -> str:
    """``[core] hostname_callable`` for several workers on one machine: each names itself."""
    return os.environ.get(WORKER_NAME_VARIABLE) or socket.getfqdn()


@dataclass
class CeleryAirflowServices(AirflowServices):
    workers: tuple[str, ...] = ("worker-a", "worker-b")
    worker_concurrency: int = 2
    #: how long the scheduler waits for a task's heartbeat before it fails the try (a dead worker)
    heartbeat_timeout: int = 30
    database: PostgresServer | None = None
    broker: RedisServer | None = None
    services: tuple[str, ...] = (*SERVICES, "triggerer")
    health_parts: tuple[str, ...] = ("metadatabase", "scheduler", "dag_processor", "triggerer")
    _owned: list = field(default_factory=list, repr=False)

    def env(self) -> dict[str, str]:
        if self.database is None or self.broker is None:
            raise RuntimeError("start() first: the environment names the database and the broker it starts")
        env = super().env()
        env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS", None)  # SQLite's busy timeout only
        return {
            **env,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database.sqlalchemy_url,
            "AIRFLOW__CELERY__BROKER_URL": self.broker.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": self.database.celery_result_backend,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(self.heartbeat_timeout),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            **self.env_extra,
        }

    def service_command(self, name: str) -> list[str]:
        if name.startswith(WORKER_PREFIX):
            return [self.airflow, "celery", "worker", "--celery-hostname", f"{name}@%h",
                    "--concurrency", str(self.worker_concurrency), "--skip-serve-logs",
                    "--pid", str(self.home / f"{name}.pid")]
        return super().service_command(name)

    def service_env(self, name: str) -> dict[str, str]:
        env = super().service_env(name)
        if name.startswith(WORKER_PREFIX):
            env[WORKER_NAME_VARIABLE] = name
            env["AIRFLOW__CORE__HOSTNAME_CALLABLE"] = f"{__name__}.worker_hostname"
        return env

    def start(self, timeout: float = 180) -> CeleryAirflowServices:
        if self.database is None:
            self.database = PostgresServer()
            self._owned.append(self.database)
            self.database.start()
        if self.broker is None:
            self.broker = RedisServer()
            self._owned.append(self.broker)
            self.broker.start()
        super().start(timeout)
        self.start_workers(*self.workers)
        return self

    def start_workers(self, *names: str, timeout: float = 180) -> None:
        """Start Celery workers together and wait until each takes tasks (Celery logs ``ready.``)."""
        offsets = {}
        for name in names:
            if not name.startswith(WORKER_PREFIX):
                raise ValueError(f"worker names start with {WORKER_PREFIX!r}: {name!r}")
            log = self.home / f"{name}.log"
            offsets[name] = log.stat().st_size if log.exists() else 0
            self.start_service(name)
        deadline = time.monotonic() + timeout
        while offsets and time.monotonic() < deadline:
            for name, offset in list(offsets.items()):
                log = self.home / f"{name}.log"
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"Celery {name} exited; see {log}")
                with open(log, "rb") as handle:
                    handle.seek(offset)
                    if b" ready." in handle.read():
                        del offsets[name]
            time.sleep(0.5)
        if offsets:
            raise RuntimeError(f"Celery {', '.join(offsets)} not ready within {timeout:g} s; logs in {self.home}")

    def kill_worker(self, name: str) -> None:
        """SIGKILL a worker's whole process group: a machine lost mid-task, no clean-up of any kind."""
        self.stop_service(name)

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            while self._owned:
                self._owned.pop().stop()
