"""A private PostgreSQL instance (Debian's ``postgresql`` package) for Airflow's metadata database.

Sites that outgrow one machine run Airflow on PostgreSQL; tests and ``make demo-celery`` run it the
same way, on a free loopback port with its own data directory, stopped by PID. PostgreSQL refuses
to run as root, so under root (CI, containers) the server runs as the ``postgres`` system user.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from copydicom_provider.testing.orthanc_server import free_port

#: Debian installs the server binaries outside PATH, one directory per major version.
DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
SERVICE_USER = "postgres"


def postgres_bin(program: str) -> str:
    """Path of a PostgreSQL server program (``initdb``, ``postgres``): PATH first, then Debian's directory."""
    found = shutil.which(program)
    if found:
        return found
    for directory in sorted(Path("/").glob(DEBIAN_BIN_GLOB.lstrip("/")), reverse=True):
        if (directory / program).exists():
            return str(directory / program)
    raise FileNotFoundError(f"PostgreSQL's {program} not found; install Debian's postgresql package")


def available() -> bool:
    """Whether PostgreSQL's server programs are installed (the integration tests skip otherwise)."""
    try:
        postgres_bin("initdb")
        postgres_bin("postgres")
    except FileNotFoundError:
        return False
    return True


@dataclass
class PostgresServer:
    """One private PostgreSQL server; ``start()``/``stop()`` or use it as a context manager."""

    database: str = "airflow"
    user: str = "copydicom"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    port: int = 0
    directory: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def sqlalchemy_url(self) -> str:
        """Airflow's ``[database] sql_alchemy_conn`` (carries the password: pass it by environment only)."""
        return f"postgresql+psycopg2://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def celery_result_backend(self) -> str:
        return f"db+postgresql+psycopg2://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def start(self, timeout: float = 60) -> PostgresServer:
        # A fresh directory of its own: under root it must be reachable by the postgres user, which
        # pytest's private temporary directories are not.
        self.directory = Path(tempfile.mkdtemp(prefix="copydicom-pg-"))
        self.port = self.port or free_port()
        data, run = self.directory / "data", self.directory / "run"
        pwfile = self.directory / "pwfile"
        pwfile.write_text(self.password + "\n")
        os.chmod(pwfile, 0o600)
        run.mkdir()
        drop = self._as_service_user()
        self._run([postgres_bin("initdb"), "-D", str(data), "-U", self.user, f"--pwfile={pwfile}",
                   "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C"], drop)
        pwfile.unlink()
        log = open(self.directory / "postgres.log", "ab")
        self.process = subprocess.Popen(
            [postgres_bin("postgres"), "-D", str(data), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", str(run), "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=drop,
        )
        log.close()
        self._wait_ready(timeout)
        self._create_database()
        return self

    def _as_service_user(self):
        """Under root: hand the directory to ``postgres`` and return a preexec that becomes that user."""
        if os.geteuid() != 0:
            return None
        account = pwd.getpwnam(SERVICE_USER)
        for path in (self.directory, *self.directory.rglob("*")):
            os.chown(path, account.pw_uid, account.pw_gid)

        def become() -> None:
            os.setgid(account.pw_gid)
            os.initgroups(SERVICE_USER, account.pw_gid)
            os.setuid(account.pw_uid)

        return become

    @staticmethod
    def _run(command: list[str], preexec) -> None:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, preexec_fn=preexec,
                                cwd="/")
        if result.returncode != 0:
            raise RuntimeError(f"{Path(command[0]).name} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")

    def _connect(self, database: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                                dbname=database, connect_timeout=5)

    def _wait_ready(self, timeout: float) -> None:
        process, directory = self.process, self.directory
        if process is None or directory is None:
            raise RuntimeError("postgres was not started")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"postgres exited; see {directory / 'postgres.log'}")
            try:
                self._connect().close()
                return
            except Exception:
                time.sleep(0.3)
        raise RuntimeError(f"postgres not ready within {timeout:g} s")

    def _create_database(self) -> None:
        connection = self._connect()
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{self.database}"')
        connection.close()

    def stop(self) -> None:
        """Fast shutdown (SIGINT) by PID, SIGKILL to the group if it lingers; the data directory goes."""
        if self.process is not None:
            try:
                os.kill(self.process.pid, signal.SIGINT)
                self.process.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait(timeout=10)
            self.process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
