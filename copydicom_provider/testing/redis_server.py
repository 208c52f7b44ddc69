"""A private Redis instance (Debian's ``redis-server``) as the Celery broker.

Loopback only, a free port, a password, no persistence, its own directory; stopped by PID.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from copydicom_provider.testing.orthanc_server import free_port


def available() -> bool:
    return shutil.which("redis-server") is not None


@dataclass
class RedisServer:
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    port: int = 0
    directory: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def broker_url(self) -> str:
        """Celery's ``broker_url`` (carries the password: pass it by environment only)."""
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30) -> RedisServer:
        if not available():
            raise FileNotFoundError("redis-server not found; install Debian's redis-server package")
        self.directory = Path(tempfile.mkdtemp(prefix="copydicom-redis-"))
        self.port = self.port or free_port()
        config = self.directory / "redis.conf"  # the password stays out of the command line (ps)
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\nprotected-mode yes\ndir {self.directory}\n"
            f'save ""\nappendonly no\ndaemonize no\nrequirepass {self.password}\n'
        )
        os.chmod(config, 0o600)
        log = open(self.directory / "redis.log", "ab")
        self.process = subprocess.Popen(["redis-server", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        log.close()
        self._wait_ready(timeout)
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                conn.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                reply = b""
                while b"\r\n" not in reply.partition(b"\r\n")[2]:  # two replies: AUTH's, then PING's
                    chunk = conn.recv(256)
                    if not chunk:
                        break
                    reply += chunk
                return b"+PONG" in reply
        except OSError:
            return False

    def _wait_ready(self, timeout: float) -> None:
        process, directory = self.process, self.directory
        if process is None or directory is None:
            raise RuntimeError("redis-server was not started")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {directory / 'redis.log'}")
            if self.ping():
                return
            time.sleep(0.2)
        raise RuntimeError(f"redis-server not ready within {timeout:g} s")

    def stop(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait(timeout=10)
            self.process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
