"""What the copy fault tests share: hooks on test servers, seeded batches, faults timed to what has landed."""


from __future__ import annotations

import os
import signal
import threading
import time

import requests

from copydicom_provider.copy import temporary_peer
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.testing.dicom_generator import generate_studies
from tests.support.fixtures_orthanc import (
    instance_ids,
)


def hook(server, **extra) -> OrthancHook:
    query = "&".join(f"{k}={v}" for k, v in extra.items())
    return OrthancHook.from_url(server.url_with_credentials + (f"?{query}" if query else ""))


def many(count_series: int, per_series: int = 25, size: int = 256, seed_value: int = 1):
    return list(generate_studies(patients=1, studies_per_patient=1, series_per_study=count_series,
                                 instances_per_series=per_series, rows=size, columns=size, seed=seed_value))


def kill_when(server, landed: int, timeout: float = 60) -> threading.Thread:
    """SIGKILL ``server`` as soon as it holds ``landed`` instances (a watcher thread)."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                count = int(
                    requests.get(f"{server.url}/statistics", auth=server.auth, timeout=2).json()["CountInstances"]
                )
            except requests.RequestException:
                return
            if count >= landed:
                os.kill(server.process.pid, signal.SIGKILL)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def when_holding(server, landed: int, then, timeout: float = 60) -> threading.Thread:
    """Run ``then(server)`` as soon as ``server`` holds ``landed`` instances (a watcher thread)."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(instance_ids(server)) >= landed:
                then(server)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def pause(server, seconds: float = 5) -> None:
    """Stop answering for ``seconds`` (SIGSTOP), then go on: uploads under way time out, then land."""
    os.kill(server.process.pid, signal.SIGSTOP)
    time.sleep(seconds)
    os.kill(server.process.pid, signal.SIGCONT)


def restart(server, down: float = 0.5) -> None:
    """SIGKILL, then the same storage and port again, as a container restart does."""
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(10)
    time.sleep(down)
    server.start()


def temporary_peers(server) -> list[str]:
    names = requests.get(f"{server.url}/peers", auth=server.auth, timeout=10).json()
    return [name for name in names if name.startswith(temporary_peer.PEER_PREFIX)]


def running_jobs(server) -> list[dict]:
    jobs = requests.get(f"{server.url}/jobs?expand", auth=server.auth, timeout=10).json()
    return [job for job in jobs if job["State"] in {"Pending", "Running"}]
