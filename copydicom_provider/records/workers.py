"""Who reads instances and builds their records for a tags run: threads, or forked worker processes.

Why processes: reading a header and building its records is Python work (pydicom, the record builders),
so with threads a run is bound to one core by the interpreter lock, at about half the rate the
source serves its files. With more than one core at hand and a run of at least
``PROCESS_MIN_CANDIDATES`` instances, records are built by up to ``max_parallel`` worker
processes (one per core), each reading one instance at a time.

Why fork: a spawned interpreter imports pydicom afresh (0.5-1 s), more than many runs take; a forked
child starts in milliseconds with everything loaded. It is made safe for a task process: the pool
is forked before it starts any thread of its own, and the child

* opens its own connections to the source (:meth:`OrthancHook.reopen_after_fork`; the parent's
  sockets and its channel to Airflow are never used);
* takes Ctrl-C and SIGTERM (sent to the whole group by a terminal, systemd or ``kill -- -PGID``) as
  the parent's to handle: the parent stops the pool, and the child ends through it. SIGINT is
  ignored; a SIGTERM ends the child ``TERM_GRACE`` seconds later if the pool has not ended it by
  then (so that a pool ending its workers after one died still ends them);
* logs nothing: every outcome goes back to the parent, which reports it;
* exits once the parent is gone.

``COPYDICOM_RECORD_PROCESSES`` overrides the choice: ``0`` for threads only, ``N`` for N processes.
Outside Linux, and in a daemonic process (which may not have children), threads. A worker that dies
(killed for memory, a signal) costs nothing: the chunk and the rest of the run are read by threads.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from copydicom_provider.config import RECORD_PROCESSES
from copydicom_provider.copy.parallel import parallel_map
from copydicom_provider.errors import ConfigurationError
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.summary import log
from copydicom_provider.records.fetch import RecordError, read_instance_records
from copydicom_provider.records.instance import InstanceRecords

__all__ = ["PROCESS_MIN_CANDIDATES", "RecordWorkers", "record_processes"]

#: Fewer candidates than this: threads (a pool is not worth its start).
PROCESS_MIN_CANDIDATES = 100
PROCESSES_VARIABLE = "COPYDICOM_RECORD_PROCESSES"
#: Seconds a forked worker outlives a SIGTERM: its parent, stopped alike, ends the pool well within them.
TERM_GRACE = 2.0

Outcome = InstanceRecords | OrthancError | RecordError

#: What a forked child reads with (set in the child by :func:`_child_start`).
_CHILD: dict[str, Any] = {}


def record_processes(workers: int, candidates: int) -> int:
    """How many worker processes build records: 0 means threads."""
    setting = (RECORD_PROCESSES.raw() or "").strip()
    if setting:
        if not setting.isdigit():
            raise ConfigurationError(
                f"{PROCESSES_VARIABLE} must be a whole number (0: threads only), not {setting!r}")
        wanted = int(setting)
    else:
        wanted = workers if candidates >= PROCESS_MIN_CANDIDATES else 0
    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    if multiprocessing.current_process().daemon:
        return 0  # a daemonic process may not have children (some executors' pool workers)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    count = min(wanted, cores) if not setting else wanted
    return count if count > 1 else 0


class RecordWorkers:
    """Builds the records of a chunk of instances, in order: ``read(ids, metadata)`` -> outcomes."""

    def __init__(self, source: OrthancHook, source_name: str, workers: int, processes: int) -> None:
        self.source, self.source_name, self.workers, self.processes = source, source_name, workers, processes
        self._pool: ProcessPoolExecutor | None = None

    def read(self, instance_ids: Sequence[str], metadata: dict[str, dict[str, str]]) -> list[Outcome]:
        if not self.processes:
            return list(parallel_map(
                lambda i: read_instance_records(self.source, i, self.source_name, metadata.get(i)),
                instance_ids, self.workers))
        pool = self._started()
        chunk = max(1, len(instance_ids) // (self.processes * 8))
        try:
            return list(pool.map(_read_in_child, instance_ids, [metadata.get(i) for i in instance_ids],
                                 chunksize=chunk))
        except BrokenProcessPool as error:  # a worker killed (out of memory, a signal): threads go on
            log.warning("tags: a record worker process ended abruptly (%s); the run goes on with threads", error)
            self.close()
            self.processes = 0
            return self.read(instance_ids, metadata)

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forked, the child inherits these arguments as they are (nothing is pickled)
            self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("fork"),
                                             initializer=_child_start,
                                             initargs=(self.source, self.source_name, os.getpid()))
        return self._pool

    def close(self) -> None:
        """Stop the worker processes (after the reads under way: each takes milliseconds)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _child_start(source: OrthancHook, source_name: str, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_soon)
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    source.reopen_after_fork()
    _CHILD.update(source=source, source_name=source_name)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_soon(signum: int, frame: object) -> None:
    """SIGTERM in a child: leave the parent, which got it too, time to stop the pool in order."""
    threading.Thread(target=_exit_after, args=(TERM_GRACE,), daemon=True).start()


def _exit_after(seconds: float) -> None:
    time.sleep(seconds)
    os._exit(128 + signal.SIGTERM)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _read_in_child(instance_id: str, metadata: dict[str, str] | None) -> Outcome:
    return read_instance_records(_CHILD["source"], instance_id, _CHILD["source_name"], metadata)
