"""The peer users would pick, orthanc-tools' ``OrthancCloner``, as one method of ``replicate_bench.py``.

PEERING with whole studies pushed once stable (``trigs_on_stable_study``), over the source's existing
change log. It runs in a virtualenv of its own (``benchmarks/.venv-cloner``, made on first use) so that
its dependencies never meet ours; timed from its start until every instance is on the destination.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from copydicom_provider.testing.orthanc_server import OrthancServer

CLONER_VENV = Path(__file__).resolve().parent / ".venv-cloner"
CLONER_REQUIREMENT = "orthanc-tools==0.23.*"
#: The harness's Orthanc runs 2 jobs at once (ConcurrentJobs), and each cloner worker waits on one
#: synchronous peer push; more workers would only queue.
CLONER_WORKERS = 2


def register_peer(source: OrthancServer, destination: OrthancServer, name: str) -> None:
    """``PUT /peers/{name}`` on the source: what Orthanc's push and the cloner's PEERING mode send to."""
    requests.put(f"{source.url}/peers/{name}", auth=source.auth, timeout=30,
                 json={"Url": destination.url, "Username": destination.username,
                       "Password": destination.password}).raise_for_status()


CLONER_DRIVER = r"""
import json, logging, os, sys, threading, time
import requests
from orthanc_api_client import OrthancApiClient
from orthanc_tools import OrthancCloner, ClonerMode

logging.basicConfig(level=logging.WARNING)
source_url, peer, destination_url, expected, workers = sys.argv[1:6]
user, password, dest_user, dest_password = (os.environ[k]
                                           for k in ("SRC_USER", "SRC_PASSWORD", "DEST_USER", "DEST_PASSWORD"))
cloner = OrthancCloner(source=OrthancApiClient(source_url, user=user, pwd=password), mode=ClonerMode.PEERING,
                       destination_peer=peer, trigs_on_stable_study=True, worker_threads_count=int(workers),
                       max_retries=0)
ended = {}
def execute():
    cloner.execute(existing_changes_only=True)  # the existing change log, then stop
    ended["execute_s"] = time.perf_counter() - started
runner = threading.Thread(target=execute)
started = time.perf_counter()
runner.start()
landed = 0
while True:  # time until every instance is on the destination, not until the cloner's last poll
    finished = not runner.is_alive()
    reply = requests.get(f"{destination_url}/statistics", auth=(dest_user, dest_password), timeout=30).json()
    landed = reply["CountInstances"]
    if landed >= int(expected) or finished:
        break
    time.sleep(0.05)
landed_s = time.perf_counter() - started
runner.join()
print(json.dumps({"landed": landed, "landed_s": landed_s, **ended}))
"""


def cloner_python() -> Path:
    """The cloner's own virtualenv (made on first use): orthanc-tools pins its own dependencies."""
    python = CLONER_VENV / "bin" / "python"
    marker = CLONER_VENV / ".installed"
    if not marker.exists():
        print(f"installing {CLONER_REQUIREMENT} into {CLONER_VENV.name} ...", flush=True)
        subprocess.run(["python3", "-m", "venv", str(CLONER_VENV)], check=True, capture_output=True, text=True)
        uv = Path(sys.executable).parent / "uv"  # faster than pip when our venv has it; pip if uv fails
        installers = [[str(uv), "pip", "install", "--python", str(python)]] if uv.exists() else []
        for install in [*installers, [str(python), "-m", "pip", "install"]]:
            result = subprocess.run([*install, "-q", CLONER_REQUIREMENT], capture_output=True, text=True, timeout=600)
            if result.returncode == 0:
                break
        else:
            raise RuntimeError(f"could not install {CLONER_REQUIREMENT}: {result.stderr.strip()[-1000:]}")
        marker.touch()
    return python


def wait_stable(source: OrthancServer, timeout: float = 120.0) -> float:
    """Wait until every source study is stable (its StableStudy change logged); returns the seconds waited."""
    started = time.perf_counter()
    while True:
        studies = requests.get(f"{source.url}/studies?expand", auth=source.auth, timeout=30).json()
        if all(study["IsStable"] for study in studies):
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise RuntimeError("source studies did not become stable")
        time.sleep(0.1)


@dataclass
class ClonerRun:
    """What the cloner's driver saw: time to all landed, and when its ``execute()`` returned."""

    stable_wait_s: float = 0.0
    execute_s: float = 0.0
    source_age_s: float = 0.0


def cloner_peering(count: int, seeded_at: float, info: ClonerRun) -> Callable[[OrthancServer, OrthancServer], float]:
    """OrthancCloner (PEERING, whole studies once stable) over the source's change log, in its own venv."""
    def run(source: OrthancServer, destination: OrthancServer) -> float:
        python = cloner_python()
        register_peer(source, destination, "bench-cloner")
        info.stable_wait_s = wait_stable(source)  # not timed: seeded long before, so normally 0
        info.source_age_s = time.perf_counter() - seeded_at
        credentials = dict(zip(("SRC_USER", "SRC_PASSWORD", "DEST_USER", "DEST_PASSWORD"),
                               (*source.auth, *destination.auth), strict=True))  # in its environment, not argv
        result = subprocess.run([str(python), "-c", CLONER_DRIVER, source.url, "bench-cloner", destination.url,
                                 str(count), str(CLONER_WORKERS)], env={**os.environ, **credentials},
                                capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            raise RuntimeError(f"cloner driver failed: {result.stderr.strip()[-2000:]}")
        report = json.loads(result.stdout.strip().splitlines()[-1])
        if report["landed"] < count:
            raise RuntimeError(f"cloner stopped with {report['landed']} of {count} instances on the destination: "
                               f"{result.stderr.strip()[-2000:]}")
        info.execute_s = report.get("execute_s", 0.0)
        return report["landed_s"]
    return run
