"""Peer mode: the source pushes the missing instances to the destination through Orthanc's push jobs.

The destination is registered on the source under a throw-away peer name
(:class:`copydicom_provider.copy.temporary_peer.TemporaryPeer`) and removed afterwards, also when a job
fails, times out or the task is killed. Jobs hold at most ``PEER_JOB_SIZE`` instances and
``PEER_CONCURRENT_JOBS`` run at once, in lanes; this thread counts each finished job from the
destination (:mod:`copydicom_provider.copy.push_count`) while the lanes run the next. After the
destination goes away or fills up, no further job starts (:class:`copydicom_provider.copy.failure_gate.PushGate`).
Corrections always go through the worker (:func:`copydicom_provider.copy.rest.copy_rest`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from copydicom_provider.copy import arrivals
from copydicom_provider.copy.batch import CopyBatch
from copydicom_provider.copy.change_log import last_seq
from copydicom_provider.copy.diagnosis import storage_full_reason
from copydicom_provider.copy.failure_gate import PushGate
from copydicom_provider.copy.peer_jobs import ACTIVE_PEER_JOBS, quietly
from copydicom_provider.copy.plan import CopyPlan
from copydicom_provider.copy.push_count import FinishedJob, PushTally, account_push
from copydicom_provider.copy.push_job import DEFAULT_PEER_JOB_TIMEOUT, run_push_job
from copydicom_provider.copy.recycling import check_kept
from copydicom_provider.copy.rest import copy_rest
from copydicom_provider.copy.temporary_peer import TemporaryPeer
from copydicom_provider.errors import StorageFull
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.summary import Progress, ReplicationSummary

PEER_JOB_SIZE = 500
#: Push jobs run at once: a job sends one instance at a time, so two keep the destination's ingest
#: busy; two is also Orthanc's default ``ConcurrentJobs`` (more would only queue on the source).
PEER_CONCURRENT_JOBS = 2


def copy_peer(batch: CopyBatch, job_timeout: float = DEFAULT_PEER_JOB_TIMEOUT) -> None:
    """The source pushes the missing instances; corrections go through the worker.

    Jobs hold at most ``PEER_JOB_SIZE`` instances, and ``PEER_CONCURRENT_JOBS`` run at once (a job
    sends one instance at a time). After a destination goes away or fills up, no further job starts.
    """
    source, destination, plan, verify = batch.source, batch.destination, batch.plan, batch.verify
    summary, progress, logger = batch.summary, batch.progress, batch.logger
    peer = TemporaryPeer.for_destination(source, destination)
    peer.register()
    ACTIVE_PEER_JOBS.set(source, peer.name)
    # several jobs per lane, so that both lanes stay busy to the end
    size = max(1, min(PEER_JOB_SIZE, -(-len(plan.missing) // (4 * PEER_CONCURRENT_JOBS))))
    jobs = list(_push_jobs(plan.groups, size))
    lanes = _Lanes(peer, destination, job_timeout)
    tally = PushTally()
    try:
        first_mark: int | None = last_seq(destination)
    except OrthancError:
        first_mark = None  # the first job will say what is wrong
    pool = ThreadPoolExecutor(PEER_CONCURRENT_JOBS, thread_name_prefix="copydicom-push")
    try:
        # this thread accounts each finished job (from the destination's log since its mark) while
        # the lanes go on with the next jobs
        for future in [pool.submit(lanes.push, job) for job in jobs]:
            chunk, finished = future.result()
            if finished is None:
                _give_up(summary, progress, chunk, lanes.gate.reason, logger)
                continue
            gone = account_push(source, destination, finished, summary, progress, verify, tally)
            if gone is not None and lanes.gate.stop(gone) and isinstance(gone, StorageFull):
                summary.stopped, summary.needs_operator = storage_full_reason(gone), True
            if finished.job["State"] != "Success":
                lanes.gate.settled()
    except BaseException:  # Ctrl-C, a task timeout: the running jobs are cancelled, so the lanes end now
        lanes.gate.stop(OrthancError("interrupted"))
        lanes.gate.release()
        ACTIVE_PEER_JOBS.cancel_jobs(peer.name)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        ACTIVE_PEER_JOBS.discard(peer.name)
        quietly(source.delete_peer, peer.name)
    if tally.deferred and arrivals.back(destination):  # a restart: count those jobs from the destination after all
        logger.warning("%s answers again: counting %d push job(s) from it", destination.url, len(tally.deferred))
    for finished in tally.deferred:  # (still away: counted as failed, not confirmed)
        account_push(source, destination, finished, summary, progress, verify, tally, defer=False)
    if tally.copied and first_mark is not None and lanes.gate.reason is None:
        check_kept(destination, tally.copied, first_mark, summary, logger)  # a later job may push out an earlier one's
    if plan.updates:
        copy_rest(replace(batch, plan=CopyPlan(updates=list(plan.updates))))


class _Lanes:
    """What the lanes share: the peer they push to, and the gate that says when to start no further job."""

    def __init__(self, peer: TemporaryPeer, destination: OrthancHook, job_timeout: float) -> None:
        self.peer, self.destination, self.job_timeout = peer, destination, job_timeout
        self.gate = PushGate()  # no job starts while a failed one awaits its verdict (a full destination?)

    def push(self, job: tuple[list[str], list[str]]) -> tuple[list[str], FinishedJob | None]:
        """Run one job in a lane: its instances, and the finished job (None if it was not started)."""
        resources, chunk = job
        if self.gate.wait() is not None:
            return chunk, None
        try:
            mark = last_seq(self.destination)
        except OrthancError as error:
            self.gate.stop(error)
            return chunk, None
        done = run_push_job(self.peer, resources, chunk, self.job_timeout)
        if done["State"] != "Success":
            self.gate.failed()
        return chunk, FinishedJob(chunk, done, mark)


def _give_up(summary: ReplicationSummary, progress: Progress, chunk: list[str], error: OrthancError | None,
             logger: logging.Logger) -> None:
    """Count a job that was never started as not attempted."""
    if chunk:
        summary.not_attempted += len(chunk)
        progress.advance(0, skipped=len(chunk))
        logger.error("stopped early, %d instance(s) not attempted: %s", len(chunk), error)


def _push_jobs(groups: list[tuple[str, list[str]]], size: int = PEER_JOB_SIZE) -> Iterator[tuple[list[str], list[str]]]:
    """Resources per job and the instances they cover: whole studies up to about ``size`` instances a job.

    Jobs are accounted one by one from the destination, so a destination that dies mid-run costs
    the count of one job at most. A study larger than ``size`` is pushed as its instances, so that
    jobs stay of one size and both lanes end together: five studies of 200 on two lanes would
    otherwise leave one lane pushing the fifth alone. (A push job runs as fast on a list of
    instances as on their study: 200 instances took 0.45-0.47 s either way here.)
    """
    resources: list[str] = []
    chunk: list[str] = []
    for resource, instances in groups:
        parts = [(resource, instances)] if len(instances) <= size else [(i, [i]) for i in instances]
        for part, covered in parts:
            resources.append(part)
            chunk += covered
            if len(chunk) >= size:
                yield resources, chunk
                resources, chunk = [], []
    if resources:
        yield resources, chunk
