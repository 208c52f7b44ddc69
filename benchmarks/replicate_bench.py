"""Replicate throughput, side by side in one run on the same data (a benchmark, not a test).

Seeds a source Orthanc with N generated instances (default 1000 of ~132 KB), then copies them to
a fresh destination with each method, checking that every instance landed:

* ``orthanc_push``: Orthanc's own server-side ``POST /peers/{name}/store`` of all studies;
* ``rest`` and ``peer``: this project's two transfer modes;
* ``naive``: one thread, per-instance GET + POST with default ``requests`` settings (gzip on),
  what a simple script does;
* ``ingest_bound``: the destination's ingest limit, the real ceiling on one machine: the source's
  files are read into memory first (not timed), then POSTed from memory with 1, 4 and 8 threads
  (one keep-alive session per thread, a fresh destination per thread count); the best counts;
* ``true_bound``: the same files POSTed by 4 and by 8 ``curl`` processes from ``/dev/shm`` (the best
  counts): a client that costs the machine as little as possible, so no method should beat it;
* ``cloner_peering``: the peer users would pick, orthanc-tools' ``OrthancCloner`` in its best mode,
  PEERING with whole studies pushed once stable (``trigs_on_stable_study``), over the source's
  existing change log. It runs in a virtualenv of its own (``benchmarks/.venv-cloner``, made on
  first use) so that its dependencies never meet ours; timed from its start until every instance
  is on the destination. The source's studies are stable before it starts, so the stable-age wait
  a live feed would add (StableAge, 60 s by default) is not in this figure.

``--repeat N`` runs these copies N times on the same source and reports the median (and min/max)
of each ratio, since single runs on a loaded machine vary up to 1.5x.

Also: the no-op rerun over an archive already in sync, as a fraction of the copy time, both for
the archive above (few large studies; over every study, and over a received window whose candidates
are each instance of the change log) and for an archive of many small studies (default 5,000
studies of 2 instances, like radiography and mammography; ``--small-studies 0`` skips it); and the
worker's peak RSS growth while copying one large instance (default 100 MB) in a child process
(``--skip-rss`` skips it). Prints a table, then one JSON line with the ratios.

    python benchmarks/replicate_bench.py [--instances 1000] [--repeat 1] [--small-studies 5000]
                                         [--large-mb 100] [--skip-rss]

A quick run: ``--instances 200 --small-studies 0 --skip-rss``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
from cloner_peering import CLONER_WORKERS, ClonerRun, cloner_peering, cloner_python, register_peer

from copydicom_provider import replicate
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.orthanc_server import OrthancServer

#: A received window that holds every reception
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def seed(server: OrthancServer, instances: int) -> None:
    per_series = 50
    series = max(1, instances // per_series)
    hook = OrthancHook.from_url(server.url_with_credentials)
    for item in generate_studies(patients=max(1, series // 4), studies_per_patient=1,
                                 series_per_study=min(4, series), instances_per_series=per_series,
                                 rows=256, columns=256, seed=42):
        hook.upload_instance(item.to_bytes())


Method = Callable[[OrthancServer, OrthancServer], float]

INGEST_THREADS = (1, 4, 8)
#: curl processes of the true bound (the best counts)
CURL_PROCESSES = (4, 8)
RAM = Path("/dev/shm")
IDENTITY = {"Accept-Encoding": "identity"}  # else Orthanc gzips every file it sends, at a CPU cost


def instance_count(server: OrthancServer) -> int:
    return len(requests.get(f"{server.url}/instances", auth=server.auth, timeout=30).json())


def orthanc_push(source: OrthancServer, destination: OrthancServer) -> float:
    auth = source.auth
    register_peer(source, destination, "bench")
    studies = requests.get(f"{source.url}/studies", auth=auth, timeout=30).json()
    started = time.perf_counter()
    job = requests.post(f"{source.url}/peers/bench/store", auth=auth, timeout=30,
                        json={"Resources": studies, "Asynchronous": True}).json()["ID"]
    while (state := requests.get(f"{source.url}/jobs/{job}", auth=auth, timeout=30).json()["State"]) not in {
            "Success", "Failure"}:
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


def ours(mode: str, max_parallel: int | None = None, since: datetime | None = None) -> Method:
    """This project's copy in ``mode``; ``max_parallel`` as a connection would set it (None: the default).

    ``since``: a received window from then on (candidates from the change log) instead of every study.
    """
    query = f"?max_parallel={max_parallel}" if max_parallel else ""

    def run(source: OrthancServer, destination: OrthancServer) -> float:
        started = time.perf_counter()
        summary = replicate(source.url_with_credentials + query, destination.url_with_credentials + query, mode=mode,
                            since=since)
        elapsed = time.perf_counter() - started
        assert summary.failed == 0, summary.failure_text()
        return elapsed
    return run


def read_files(source: OrthancServer) -> list[bytes]:
    """Every instance file of the source, uncompressed (the ingest bound's input, read before timing)."""
    with requests.Session() as session:
        session.auth = source.auth
        session.headers.update(IDENTITY)
        ids = session.get(f"{source.url}/instances", timeout=30).json()
        return [session.get(f"{source.url}/instances/{i}/file", timeout=60).content for i in ids]


def post_from_memory(files: list[bytes], threads: int) -> Method:
    """POST ``files`` to the destination with ``threads`` keep-alive sessions: only its ingest is timed."""
    def run(source: OrthancServer, destination: OrthancServer) -> float:
        errors: list[BaseException] = []

        def worker(part: list[bytes]) -> None:
            try:
                with requests.Session() as session:
                    session.auth = destination.auth
                    session.headers.update({"Content-Type": "application/dicom", **IDENTITY})
                    for body in part:
                        session.post(f"{destination.url}/instances", data=body, timeout=60).raise_for_status()
            except BaseException as error:
                errors.append(error)

        workers = [threading.Thread(target=worker, args=(files[n::threads],)) for n in range(threads)]
        started = time.perf_counter()
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        elapsed = time.perf_counter() - started
        if errors:
            raise errors[0]
        return elapsed
    return run


def curl_from_ram(files: list[bytes], processes: int) -> Method:
    """The true bound: ``processes`` curl processes (C, keep-alive each) POST the files from RAM.

    Why curl: the Python bound above runs in this process and spends CPU the destination Orthanc
    needs on two cores, so a client can beat it. The files go to ``/dev/shm`` first (untimed).
    """
    def run(source: OrthancServer, destination: OrthancServer) -> float:
        with tempfile.TemporaryDirectory(dir=RAM if RAM.is_dir() else None) as folder:
            paths = []
            for number, data in enumerate(files):
                path = Path(folder) / f"{number}.dcm"
                path.write_bytes(data)
                paths.append(path)
            configs = []
            for lane in range(min(processes, len(paths))):
                entries = [f'url = "{destination.url}/instances"\nuser = "{destination.username}:'
                           f'{destination.password}"\ndata-binary = "@{path}"\nheader = "Expect:"\n'
                           f'header = "Content-Type: application/dicom"\noutput = "/dev/null"\nfail\nsilent\n'
                           f'show-error\n' for path in paths[lane::processes]]
                config = Path(folder) / f"lane-{lane}.curlrc"
                config.write_text("next\n".join(entries))
                configs.append(config)
            started = time.perf_counter()
            lanes = [subprocess.Popen(["curl", "--config", str(config)]) for config in configs]
            codes = [lane.wait() for lane in lanes]
            elapsed = time.perf_counter() - started
        assert codes == [0] * len(codes), f"curl exited with {codes}"
        return elapsed
    return run


RSS_CHILD = r"""
import sys, threading, time
import requests
from cloner_peering import CLONER_WORKERS, ClonerRun, cloner_peering, cloner_python, register_peer
from copydicom_provider import replicate
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


@contextmanager
def fresh_destination(workdir: Path, label: str) -> Iterator[OrthancServer]:
    """An empty destination, killed and deleted afterwards (throw-away data; a graceful stop costs ~3 s)."""
    destination = OrthancServer(workdir / f"dest-{label}", name="destination").start()
    try:
        yield destination
    finally:
        destination.stop(kill=True)
        shutil.rmtree(destination.directory, ignore_errors=True)


@dataclass
class Round:
    """One pass of every copy method over the same source."""

    seconds: dict[str, float] = field(default_factory=dict)
    noop: float = 0.0
    #: the same no-op rerun over a received window (each candidate from the change log)
    noop_received: float = 0.0
    ingest_threads: int = 0
    cloner: ClonerRun = field(default_factory=ClonerRun)


def copy_round(workdir: Path, source: OrthancServer, count: int, files: list[bytes], seeded_at: float,
               number: int, with_cloner: bool) -> Round:
    """Each method into its own fresh destination, checking every instance landed."""
    result = Round()
    methods: list[tuple[str, Method]] = [
        ("orthanc_push", orthanc_push), ("rest", ours("rest")), ("peer", ours("peer")), ("naive", naive),
        *((f"ingest_{threads}", post_from_memory(files, threads)) for threads in INGEST_THREADS),
        *((f"curl_{processes}", curl_from_ram(files, processes)) for processes in CURL_PROCESSES),
    ]
    if with_cloner:
        methods.append(("cloner_peering", cloner_peering(count, seeded_at, result.cloner)))
    for name, method in methods:
        with fresh_destination(workdir, f"{name}-{number}") as destination:
            result.seconds[name] = method(source, destination)
            landed = instance_count(destination)
            assert landed == count, (name, landed, count)
            if name == "rest":
                result.noop = ours("rest")(source, destination)
                result.noop_received = ours("rest", since=EPOCH)(source, destination)
        print(f"  {name:<15} {count / result.seconds[name]:8.1f} instances/s", flush=True)
    result.ingest_threads = min(INGEST_THREADS, key=lambda threads: result.seconds[f"ingest_{threads}"])
    result.seconds["ingest_bound"] = result.seconds[f"ingest_{result.ingest_threads}"]
    result.seconds["true_bound"] = min(result.seconds[f"curl_{processes}"] for processes in CURL_PROCESSES)
    return result


RATIOS: dict[str, tuple[str, str]] = {
    "rest_vs_orthanc_push": ("rest", "orthanc_push"),
    "peer_vs_orthanc_push": ("peer", "orthanc_push"),
    "rest_vs_naive": ("rest", "naive"),
    "rest_vs_ingest_bound": ("rest", "ingest_bound"),
    "peer_vs_cloner_peering": ("peer", "cloner_peering"),
    "rest_vs_true_bound": ("rest", "true_bound"),
    "peer_vs_true_bound": ("peer", "true_bound"),
    "orthanc_push_vs_true_bound": ("orthanc_push", "true_bound"),
    "cloner_peering_vs_true_bound": ("cloner_peering", "true_bound"),
    "ingest_bound_vs_true_bound": ("ingest_bound", "true_bound"),
}


def spread(values: list[float], digits: int) -> dict[str, float]:
    return {"": round(statistics.median(values), digits), "_min": round(min(values), digits),
            "_max": round(max(values), digits)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1, help="copy measurements per method (median, min, max)")
    parser.add_argument("--large-mb", type=int, default=100)
    parser.add_argument("--small-studies", type=int, default=5000, help="0 skips the small-studies no-op rerun")
    parser.add_argument("--skip-rss", action="store_true", help="skip the peak-RSS measurements")
    parser.add_argument("--skip-cloner", action="store_true", help="skip OrthancCloner (needs orthanc-tools)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="copydicom-bench-"))
    rounds: list[Round] = []
    cloner_error = "skipped (--skip-cloner)" if args.skip_cloner else ""
    source = OrthancServer(workdir / "source", name="source").start()
    try:
        print(f"seeding {args.instances} instances of ~132 KB ...", flush=True)
        seed(source, args.instances)
        seeded_at = time.perf_counter()
        count = instance_count(source)
        files = read_files(source)
        if not cloner_error:
            try:
                cloner_python()
            except (OSError, RuntimeError, subprocess.SubprocessError) as error:
                cloner_error = str(error)
                print(f"  cloner_peering  cannot run: {cloner_error}", flush=True)
        for number in range(args.repeat):
            print(f"round {number + 1} of {args.repeat}:", flush=True)
            rounds.append(copy_round(workdir, source, count, files, seeded_at, number, not cloner_error))
        del files
    finally:
        source.stop(kill=True)
    small_copy = small_noop = 0.0
    if args.small_studies:
        print(f"seeding {args.small_studies} studies of 2 small instances ...", flush=True)
        small_copy, small_noop = small_studies_noop(workdir, args.small_studies)
    small = large = buffered = None
    if not args.skip_rss:
        small = rss_growth_mb(workdir, 1, "rss-small")
        large = rss_growth_mb(workdir, args.large_mb, "rss-large")
        buffered = rss_growth_mb(workdir, args.large_mb, "rss-buffered", how="buffered")

    rates = [{name: count / s for name, s in r.seconds.items()} for r in rounds]
    rate = {name: statistics.median(r[name] for r in rates) for name in rates[0]}
    figures: dict[str, Any] = {"instances": count, "repeat": args.repeat}
    for ratio, (numerator, denominator) in RATIOS.items():
        if denominator in rate and numerator in rate:
            figures.update({ratio + suffix: value for suffix, value in
                            spread([r[numerator] / r[denominator] for r in rates], 3).items()})
        else:
            figures[ratio] = None
    figures.update({"noop_fraction" + suffix: value for suffix, value in
                    spread([r.noop / r.seconds["rest"] for r in rounds], 4).items()})
    figures.update({"noop_received_fraction" + suffix: value for suffix, value in
                    spread([r.noop_received / r.seconds["rest"] for r in rounds], 4).items()})
    threads = statistics.mode(r.ingest_threads for r in rounds)
    figures.update({
        "noop_fraction_small_studies": round(small_noop / small_copy, 4) if args.small_studies else None,
        "small_studies": args.small_studies,
        "rss_growth_mb": None if large is None else round(large, 1),
        "rss_growth_mb_1mb_instance": None if small is None else round(small, 1),
        "rss_growth_mb_buffered_control": None if buffered is None else round(buffered, 1),
        "ingest_bound_threads": threads,
        "ingest_bound_threads_per_round": [r.ingest_threads for r in rounds],
        "cloner_mode": "PEERING, whole studies once stable" if not cloner_error else None,
        "cloner_workers": CLONER_WORKERS if not cloner_error else None,
        "cloner_error": cloner_error or None,
        "instances_per_second": {name: round(r, 1) for name, r in rate.items()},
    })
    print()
    per = f" (median of {args.repeat})" if args.repeat > 1 else ""
    print(f"{'method':<16}{'instances/s':>12}{'vs Orthanc push':>18}{'vs ingest bound':>18}{'vs true bound':>16}"
          f"   min-max{per}")
    names = ["orthanc_push", "rest", "peer", "naive", "cloner_peering", "ingest_bound",
             *(f"ingest_{n}" for n in INGEST_THREADS), "true_bound", *(f"curl_{n}" for n in CURL_PROCESSES)]
    for name in (n for n in names if n in rate):
        label = name
        if name.startswith("ingest_") and name != "ingest_bound":
            label = f"  {name.split('_')[1]} thread(s)"
        elif name.startswith("curl_"):
            label = f"  {name.split('_')[1]} curl(s)"
        low, high = min(r[name] for r in rates), max(r[name] for r in rates)
        print(f"{label:<16}{rate[name]:12.1f}{rate[name] / rate['orthanc_push']:18.2f}"
              f"{rate[name] / rate['ingest_bound']:18.2f}{rate[name] / rate['true_bound']:16.2f}"
              f"   {low:.1f}-{high:.1f}")
    print(f"ingest bound: best with {threads} thread(s) (per round: {figures['ingest_bound_threads_per_round']})")
    if cloner_error:
        print(f"cloner_peering: not measured: {cloner_error}")
    else:
        waits = max(r.cloner.stable_wait_s for r in rounds)
        print(f"cloner_peering: {CLONER_WORKERS} workers; the source was seeded at least "
              f"{min(r.cloner.source_age_s for r in rounds):.0f} s before it started, then waited {waits:.1f} s "
              f"more for stable studies (untimed); its execute() returned "
              f"{statistics.median(r.cloner.execute_s - r.seconds['cloner_peering'] for r in rounds):.2f} s "
              f"after the last instance landed (its poll interval)")
    noop_rest = statistics.median(r.noop for r in rounds)
    print(f"no-op rerun: {noop_rest:.2f} s = {100 * figures['noop_fraction']:.1f}% of the rest copy time")
    noop_received = statistics.median(r.noop_received for r in rounds)
    print(f"no-op rerun of a received window (every instance from the change log): {noop_received:.2f} s = "
          f"{100 * figures['noop_received_fraction']:.1f}% of the rest copy time")
    if args.small_studies:
        print(f"no-op rerun over {args.small_studies} small studies: {small_noop:.2f} s = "
              f"{100 * small_noop / small_copy:.1f}% of their {small_copy:.1f} s copy")
    if large is not None:
        print(f"worker peak RSS growth: {large:.1f} MB copying one {args.large_mb} MB instance, {small:.1f} MB for "
              f"1 MB (a script that buffers the file: {buffered:.1f} MB)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
