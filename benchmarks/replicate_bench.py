"""Replicate throughput, side by side in one run on the same data (a benchmark, not a test).

Seeds a source Orthanc with N generated instances (default 1000 of ~132 KB), then copies them to
a fresh destination with each method:

* ``orthanc_push``: Orthanc's own server-side ``POST /peers/{name}/store`` of all studies, the
  practical limit on one machine (the destination's ingest);
* ``rest`` and ``peer``: this project's two transfer modes;
* ``naive``: one thread, per-instance GET + POST with default ``requests`` settings (gzip on),
  what a simple script does.

Also: the no-op rerun over an archive already in sync, as a fraction of the copy time, both for
the archive above (few large studies) and for an archive of many small studies (default 5,000
studies of 2 instances, like radiography and mammography); and the worker's peak RSS growth while
copying one large instance (default 100 MB) in a child process.
Prints a table, then one JSON line with the ratios.

    python benchmarks/replicate_bench.py [--instances 1000] [--small-studies 5000] [--large-mb 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from copydicom_provider.core import replicate
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.orthanc_server import OrthancServer


def seed(server: OrthancServer, instances: int) -> None:
    per_series = 50
    series = max(1, instances // per_series)
    hook = OrthancHook.from_url(server.url_with_credentials)
    for item in generate_studies(patients=max(1, series // 4), studies_per_patient=1,
                                 series_per_study=min(4, series), instances_per_series=per_series,
                                 rows=256, columns=256, seed=42):
        hook.upload_instance(item.to_bytes())


def orthanc_push(source: OrthancServer, destination: OrthancServer) -> float:
    auth = source.auth
    requests.put(f"{source.url}/peers/bench", auth=auth, timeout=30,
                 json={"Url": destination.url, "Username": destination.username, "Password": destination.password}).raise_for_status()
    studies = requests.get(f"{source.url}/studies", auth=auth, timeout=30).json()
    started = time.perf_counter()
    job = requests.post(f"{source.url}/peers/bench/store", auth=auth, timeout=30,
                        json={"Resources": studies, "Asynchronous": True}).json()["ID"]
    while (state := requests.get(f"{source.url}/jobs/{job}", auth=auth, timeout=30).json()["State"]) not in {"Success", "Failure"}:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    assert state == "Success", state
    return elapsed


def naive(source: OrthancServer, destination: OrthancServer) -> float:
    started = time.perf_counter()
    for instance in requests.get(f"{source.url}/instances", auth=source.auth, timeout=30).json():
        body = requests.get(f"{source.url}/instances/{instance}/file", auth=source.auth, timeout=60).content
        requests.post(f"{destination.url}/instances", data=body, auth=destination.auth, timeout=60).raise_for_status()
    return time.perf_counter() - started


def ours(mode: str):
    def run(source: OrthancServer, destination: OrthancServer) -> float:
        started = time.perf_counter()
        summary = replicate(source.url_with_credentials, destination.url_with_credentials, mode=mode)
        elapsed = time.perf_counter() - started
        assert summary.failed == 0, summary.failure_text()
        return elapsed
    return run


RSS_CHILD = r"""
import sys, threading, time
import requests
from copydicom_provider.core import replicate
from copydicom_provider.hooks.orthanc import OrthancHook

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

source, destination, how = sys.argv[1:4]
src, dst = OrthancHook.from_url(source), OrthancHook.from_url(destination)
(instance,) = src.list_ids("instances")
peak, done = [0.0], threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss_mb())
        time.sleep(0.005)
before = rss_mb()
sampler = threading.Thread(target=sample)
sampler.start()
if how == "ours":
    assert replicate(src, dst).copied == 1
else:  # the control: a script that reads the whole file, then posts it
    body = requests.get(f"{src.url}/instances/{instance}/file", auth=src.get_conn().auth).content
    requests.post(f"{dst.url}/instances", data=body, auth=dst.get_conn().auth).raise_for_status()
    del body
done.set()
sampler.join()
print(max(0.0, peak[0] - before))
"""


def rss_growth_mb(workdir: Path, size_mb: int, name: str, how: str = "ours") -> float:
    """Peak RSS growth (MB) of a fresh process copying one instance of about ``size_mb``."""
    side = 1024
    frames = max(1, round(size_mb * 1e6 / (side * side * 2)))
    with OrthancServer(workdir / f"{name}-src", name="source") as source, \
            OrthancServer(workdir / f"{name}-dst", name="destination") as destination:
        item = next(generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=1,
                                     rows=side, columns=side, frames=frames, seed=7))
        requests.post(f"{source.url}/instances", data=item.to_bytes(), auth=source.auth, timeout=300).raise_for_status()
        del item
        result = subprocess.run([sys.executable, "-c", RSS_CHILD, source.url_with_credentials,
                                 destination.url_with_credentials, how], capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise RuntimeError(result.stderr[-2000:])
        return float(result.stdout.strip().splitlines()[-1])


def small_studies_noop(workdir: Path, studies: int) -> tuple[float, float]:
    """Copy an archive of ``studies`` studies of 2 small instances, then rerun: (copy s, no-op rerun s)."""
    with OrthancServer(workdir / "small-src", name="source") as source, \
            OrthancServer(workdir / "small-dst", name="destination") as destination:
        hook = OrthancHook.from_url(source.url_with_credentials)
        for item in generate_studies(patients=studies, studies_per_patient=1, series_per_study=1,
                                     instances_per_series=2, rows=64, columns=64, seed=9):
            hook.upload_instance(item.to_bytes())
        copy = ours("rest")(source, destination)
        return copy, ours("rest")(source, destination)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--large-mb", type=int, default=100)
    parser.add_argument("--small-studies", type=int, default=5000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="copydicom-bench-"))
    source = OrthancServer(workdir / "source", name="source").start()
    try:
        print(f"seeding {args.instances} instances of ~132 KB ...", flush=True)
        seed(source, args.instances)
        count = len(requests.get(f"{source.url}/instances", auth=source.auth, timeout=30).json())
        seconds: dict[str, float] = {}
        noop = 0.0
        for name, method in [("orthanc_push", orthanc_push), ("rest", ours("rest")),
                             ("peer", ours("peer")), ("naive", naive)]:
            with OrthancServer(workdir / f"dest-{name}", name="destination") as destination:
                seconds[name] = method(source, destination)
                landed = len(requests.get(f"{destination.url}/instances", auth=destination.auth, timeout=30).json())
                assert landed == count, (name, landed, count)
                if name == "rest":
                    noop = ours("rest")(source, destination)
            print(f"  {name:<13} {count / seconds[name]:8.1f} instances/s", flush=True)
    finally:
        source.stop(kill=True)
    print(f"seeding {args.small_studies} studies of 2 small instances ...", flush=True)
    small_copy, small_noop = small_studies_noop(workdir, args.small_studies)
    small = rss_growth_mb(workdir, 1, "rss-small")
    large = rss_growth_mb(workdir, args.large_mb, "rss-large")
    buffered = rss_growth_mb(workdir, args.large_mb, "rss-buffered", how="buffered")
    rate = {name: count / s for name, s in seconds.items()}
    figures = {
        "instances": count,
        "rest_vs_orthanc_push": round(rate["rest"] / rate["orthanc_push"], 3),
        "peer_vs_orthanc_push": round(rate["peer"] / rate["orthanc_push"], 3),
        "rest_vs_naive": round(rate["rest"] / rate["naive"], 3),
        "noop_fraction": round(noop / seconds["rest"], 4),
        "noop_fraction_small_studies": round(small_noop / small_copy, 4),
        "small_studies": args.small_studies,
        "rss_growth_mb": round(large, 1),
        "rss_growth_mb_1mb_instance": round(small, 1),
        "rss_growth_mb_buffered_control": round(buffered, 1),
        "instances_per_second": {name: round(r, 1) for name, r in rate.items()},
    }
    print()
    print(f"{'method':<14}{'instances/s':>12}{'vs Orthanc push':>18}")
    for name in ("orthanc_push", "rest", "peer", "naive"):
        print(f"{name:<14}{rate[name]:12.1f}{rate[name] / rate['orthanc_push']:18.2f}")
    print(f"no-op rerun: {noop:.2f} s = {100 * noop / seconds['rest']:.1f}% of the rest copy time")
    print(f"no-op rerun over {args.small_studies} small studies: {small_noop:.2f} s = "
          f"{100 * small_noop / small_copy:.1f}% of their {small_copy:.1f} s copy")
    print(f"worker peak RSS growth: {large:.1f} MB copying one {args.large_mb} MB instance, {small:.1f} MB for 1 MB "
          f"(a script that buffers the file: {buffered:.1f} MB)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
