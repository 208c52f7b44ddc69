"""Replicate-tags throughput against the raw rate of fetching the same data from Orthanc (a benchmark, not a test).

Seeds a source Orthanc with N generated images (default 1000 of ~132 KB) plus CT dose SRs, then,
with the same parallelism (the connection's ``max_parallel``) on the same data:

* ``raw_file_fetch``: ``GET /instances/{id}/file`` of every instance, whole, nothing else: the raw
  rate of fetching the files;
* ``raw_tags_fetch``: ``GET /instances/{id}/simplified-tags`` of every instance (Orthanc's own tag
  view; it loses values over 256 characters, which is why replicate-tags reads the file);
* ``replicate_tags``: the library call into an empty index: enumerate, non-duplicate searches,
  one bulk metadata request per chunk, header reads (one GET per instance), flattening, HEC sends;
* ``noop_rerun``: the same call again, everything already indexed;
* ``noop_rerun_big_index``: the same call once the index also holds 10x the run's events of other
  instances, stamped in other years (an index after years of use). The duplicate check is a
  ``tstats`` on the indexed field ``copydicom_key``, so this should cost what ``noop_rerun`` costs:
  ``noop_fraction_big_index`` (its time over the indexing time) is expected <= 0.05.

The sink is the Splunk test server (``copydicom_provider/testing/splunk/``), run in its own process so that it
does not share this process's interpreter lock. Prints a table, then one JSON line whose key
``tags_vs_raw_fetch`` is replicate-tags' rate over the raw file-fetch rate (target >= 0.8).

    python benchmarks/tags_bench.py [--instances 1000] [--dose-reports 50]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout first, as the tests run it

from copydicom_provider.copy.parallel import parallel_map, workers_for  # noqa: E402
from copydicom_provider.hooks.orthanc import OrthancHook  # noqa: E402
from copydicom_provider.hooks.splunk import SplunkHook  # noqa: E402
from copydicom_provider.jobs.replicate_tags import KEY_FIELD, replicate_tags  # noqa: E402
from copydicom_provider.testing.dicom_generator import generate_studies  # noqa: E402
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes  # noqa: E402
from copydicom_provider.testing.orthanc_server import OrthancServer  # noqa: E402

SPLUNK_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from copydicom_provider.testing.splunk import SplunkTestServer
with SplunkTestServer() as server:
    print(json.dumps({"url": server.url(index="dicom"), "mgmt": server.mgmt_url}), flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
"""


def seed(server: OrthancServer, instances: int, dose_reports: int) -> None:
    per_series = 50
    series = max(1, instances // per_series)
    hook = OrthancHook.from_url(server.url_with_credentials)
    for item in generate_studies(patients=max(1, series // 4), studies_per_patient=1,
                                 series_per_study=min(4, series), instances_per_series=per_series,
                                 rows=256, columns=256, seed=42):
        hook.upload_instance(item.to_bytes())
    for n in range(dose_reports):
        ds, _ = make_ct_dose_sr(seed=n, patient_id=f"DOSE{n:04d}", accession_number=f"ACC{n:05d}",
                                spiral_count=1 + n % 2, dual_source=n % 3 == 0, quirks=n % 5 == 0)
        hook.upload_instance(to_bytes(ds))


def fill_index(splunk_url: str, events: int, seed: int = 7) -> None:
    """Index ``events`` instance records of other instances, stamped 2010-2020, as a years-old index holds."""
    rng = random.Random(seed)
    hook = SplunkHook.from_url(splunk_url, max_batch_events=1000)
    modalities = ("CT", "MR", "CR", "US", "MG", "DX", "PT", "XA")
    early = datetime(2010, 1, 1, tzinfo=timezone.utc).timestamp()
    late = datetime(2021, 1, 1, tzinfo=timezone.utc).timestamp()

    def envelopes() -> Iterator[dict]:
        for n in range(events):
            orthanc_id = "-".join(f"{rng.getrandbits(32):08x}" for _ in range(5))
            key = f"{orthanc_id}:instance"
            record = {"RecordType": "instance", "RecordKey": key, "OrthancInstanceID": orthanc_id,
                      "Modality": rng.choice(modalities), "PatientID": f"OLD{n % 5000:05d}",
                      "StudyDescription": "archived study", "SeriesNumber": str(rng.randint(1, 20)),
                      **{f"Tag{t:02d}": f"value {rng.getrandbits(40):x}" for t in range(30)}}
            yield hook.envelope(record, time=rng.uniform(early, late), index="dicom", fields={KEY_FIELD: key})

    hook.send_envelopes(envelopes())


T = TypeVar("T")


def timed(function: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def raw_fetch(source: OrthancHook, endpoint: str) -> Callable[[], int]:
    """Fetch every instance's ``endpoint`` whole, ``max_parallel`` at a time; returns the bytes read."""
    def run() -> int:
        ids = source.list_ids("instances")

        def one(instance_id: str) -> int:
            if endpoint == "file":
                return len(source.download_instance(instance_id))
            return len(source.request("GET", f"/instances/{instance_id}/{endpoint}").content)

        return sum(parallel_map(one, ids, workers_for(source)))
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--dose-reports", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="copydicom-tags-bench-"))
    sink = subprocess.Popen([sys.executable, "-c", SPLUNK_CHILD, str(REPO)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    source_server = OrthancServer(workdir / "source", name="source").start()
    try:
        assert sink.stdout is not None  # stdout=PIPE
        splunk_url = json.loads(sink.stdout.readline())["url"]  # carries the HEC token: never printed
        print(f"seeding {args.instances} images of ~132 KB and {args.dose_reports} dose SRs ...", flush=True)
        seed(source_server, args.instances, args.dose_reports)
        source = OrthancHook.from_url(source_server.url_with_credentials)
        count = len(source.list_ids("instances"))
        workers = workers_for(source)
        seconds: dict[str, float] = {}
        seconds["raw_file_fetch"], _ = timed(raw_fetch(source, "file"))
        seconds["raw_tags_fetch"], _ = timed(raw_fetch(source, "simplified-tags"))
        seconds["replicate_tags"], summary = timed(lambda: replicate_tags(source, splunk_url))
        assert summary.sent == count and summary.failed == 0, summary.line()
        seconds["noop_rerun"], again = timed(lambda: replicate_tags(source, splunk_url))
        assert again.sent == 0 and again.already_indexed == count, again.line()
        filler = 10 * summary.events_sent
        print(f"filling the index with {filler} events of other instances and years ...", flush=True)
        fill_index(splunk_url, filler)
        seconds["noop_rerun_big_index"], big = timed(lambda: replicate_tags(source, splunk_url))
        assert big.sent == 0 and big.already_indexed == count, big.line()
    finally:
        source_server.stop(kill=True)
        if sink.stdin:
            sink.stdin.close()
        sink.wait(timeout=30)
    rate = {name: count / s for name, s in seconds.items()}
    figures = {
        "instances": count,
        "workers": workers,
        "events_sent": summary.events_sent,
        "tags_vs_raw_fetch": round(rate["replicate_tags"] / rate["raw_file_fetch"], 3),
        "tags_vs_simplified_tags_fetch": round(rate["replicate_tags"] / rate["raw_tags_fetch"], 3),
        "noop_fraction": round(seconds["noop_rerun"] / seconds["replicate_tags"], 4),
        "index_events_big": summary.events_sent + filler,
        "noop_fraction_big_index": round(seconds["noop_rerun_big_index"] / seconds["replicate_tags"], 4),
        "instances_per_second": {name: round(r, 1) for name, r in rate.items()},
    }
    print()
    print(f"{'method':<22}{'instances/s':>12}{'vs raw file fetch':>20}")
    for name in ("raw_file_fetch", "raw_tags_fetch", "replicate_tags", "noop_rerun", "noop_rerun_big_index"):
        print(f"{name:<22}{rate[name]:12.1f}{rate[name] / rate['raw_file_fetch']:20.2f}")
    print(f"{count} instances, {workers} workers, {summary.events_sent} events "
          f"({summary.dose_reports} dose reports, {summary.irradiation_events} irradiation events)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
