"""Start private Orthanc servers (Debian's ``orthanc`` package) as plain processes.

Used by the test suite, the demo and the benchmarks. Each server gets its own storage folder, free
loopback ports, authentication on, and ``TCP_NODELAY=1`` (without it Debian's build pauses ~50 ms
per DICOM C-STORE). The system service's ports 8042/4242 are never used.

Command line (the demo's entry point)::

    python -m copydicom_provider.testing.orthanc_server start DIR NAME   # prints the URL
    python -m copydicom_provider.testing.orthanc_server stop DIR
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ORTHANC_BINARY = "Orthanc"
DEFAULT_USER = "orthanc"
DEFAULT_PASSWORD = "orthanc-test-password"


def free_port(exclude: tuple[int, ...] = ()) -> int:
    """A TCP port nobody listens on right now, on loopback (and not one of ``exclude``)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in exclude:
            return port


def orthanc_binary() -> str:
    found = shutil.which(ORTHANC_BINARY) or next(
        (p for p in ("/usr/sbin/Orthanc", "/usr/bin/Orthanc") if os.path.exists(p)), None
    )
    if not found:
        raise RuntimeError("Orthanc is not installed: run `make deps` (apt-get install orthanc)")
    return found


def libfaketime() -> str:
    """Debian's libfaketime (package ``faketime``), wherever the architecture puts it."""
    for candidate in [*sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1")),
                      Path("/usr/lib/faketime/libfaketime.so.1")]:
        if candidate.exists():
            return str(candidate)
    raise RuntimeError("libfaketime is not installed: run `make deps` (apt-get install faketime)")


@dataclass
class OrthancServer:
    """One private Orthanc process; ``start()``/``stop()`` or use it as a context manager."""

    directory: Path
    name: str = "orthanc"
    username: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    http_port: int = 0
    dicom_port: int = 0
    aet: str = ""
    extra_config: dict[str, Any] = field(default_factory=dict)
    #: libfaketime's FAKETIME, e.g. "@2026-01-01 03:10:00": the server's clock (and so the dates it
    #: writes in its change log) starts there. Lets tests receive instances "in the past".
    fake_time: str | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def url_with_credentials(self) -> str:
        return f"http://{self.username}:{self.password}@127.0.0.1:{self.http_port}"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.username, self.password)

    @property
    def config_path(self) -> Path:
        return self.directory / "orthanc.json"

    @property
    def pid_path(self) -> Path:
        return self.directory / "orthanc.pid"

    def config(self) -> dict[str, Any]:
        storage = str(self.directory / "storage")
        return {
            "Name": self.name,
            "StorageDirectory": storage,
            "IndexDirectory": storage,
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": self.aet,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {self.username: self.password},
            "Plugins": [],
            "StableAge": 2,
            "ConcurrentJobs": 2,
            "HttpTimeout": 60,
            **self.extra_config,
        }

    def start(self, timeout: float = 30.0) -> OrthancServer:
        """Start Orthanc; ports it chose itself are chosen again if another process took one meanwhile."""
        chose_http, chose_dicom = not self.http_port, not self.dicom_port
        for attempt in range(3):
            try:
                return self._start(timeout)
            except RuntimeError as error:  # noqa: PERF203 -- a retry loop: the error decides whether to retry
                if attempt == 2 or not (chose_http or chose_dicom) or "exited at start-up" not in str(error):
                    raise
                self.http_port = 0 if chose_http else self.http_port
                self.dicom_port = 0 if chose_dicom else self.dicom_port
        raise AssertionError("unreachable")

    def _start(self, timeout: float) -> OrthancServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.http_port = self.http_port or free_port()
        self.dicom_port = self.dicom_port or free_port(exclude=(self.http_port,))
        self.aet = self.aet or self.name.upper().replace("-", "")[:16]
        self.config_path.write_text(json.dumps(self.config(), indent=2))
        env = {**os.environ, "TCP_NODELAY": "1"}
        if self.fake_time:
            env.update(LD_PRELOAD=libfaketime(), FAKETIME=self.fake_time, FAKETIME_DONT_FAKE_MONOTONIC="1")
        log = open(self.directory / "orthanc.log", "ab")
        self.process = subprocess.Popen(
            [orthanc_binary(), str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.directory,
            start_new_session=True,
        )
        log.close()
        self.pid_path.write_text(str(self.process.pid))
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Orthanc {self.name} exited at start-up; see {self.directory}/orthanc.log")
            try:
                if requests.get(f"{self.url}/system", auth=self.auth, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Orthanc {self.name} did not answer /system within {timeout:g} s")

    def stop(self, timeout: float = 20.0, kill: bool = False) -> None:
        """Stop by PID: gracefully (Orthanc needs ~3 s), or at once with ``kill`` for throw-away data."""
        pid = self.process.pid if self.process else _read_pid(self.pid_path)
        if pid is not None:
            _terminate(pid, 0 if kill else timeout)
        if self.process is not None:
            try:
                self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        self.process = None
        self.pid_path.unlink(missing_ok=True)

    def restart(self, timeout: float = 30.0) -> None:
        """Stop and start again on the same ports and storage (fault tests)."""
        self.stop()
        self.start(timeout)

    def __enter__(self) -> OrthancServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM if timeout > 0 else signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "start":
        server = OrthancServer(Path(argv[1]), name=argv[2]).start()
        (Path(argv[1]) / "url").write_text(server.url_with_credentials)
        print(server.url_with_credentials)
        return 0
    if len(argv) == 2 and argv[0] == "stop":
        OrthancServer(Path(argv[1])).stop()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
