"""Counting one finished push job from the destination, never from the job's word.

Why: a push job reports Success even when the destination filtered instances out, and says nothing per
instance; so what it delivered is read from the destination's change log since the job began, and each
instance not in it is looked up (stored by another run meanwhile, or not stored at all).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from copydicom_provider.copy.change_log import new_instances_since
from copydicom_provider.copy.diagnosis import diagnose_failed_push, push_failure_reason
from copydicom_provider.copy.loose import held_by
from copydicom_provider.copy.parallel import parallel_map, workers_for
from copydicom_provider.copy.push_job import LEFT_TO_OTHERS
from copydicom_provider.copy.send import verify_instance
from copydicom_provider.errors import ServerUnreachable
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.summary import Progress, ReplicationSummary


@dataclass(frozen=True)
class FinishedJob:
    """A push job that ended: the instances it covers, Orthanc's job, and the destination's last change
    before it began (where its log is read from)."""

    chunk: list[str]
    job: dict[str, Any]
    mark: int


@dataclass
class PushTally:
    """What a peer run has counted so far, across its jobs."""

    #: instances counted as stored by the jobs (checked at the end against what the destination kept)
    copied: list[str] = field(default_factory=list)
    #: jobs the destination could not be asked about (it was away): counted once it is back
    deferred: list[FinishedJob] = field(default_factory=list)


def account_push(source: OrthancHook, destination: OrthancHook, finished: FinishedJob, summary: ReplicationSummary,
                 progress: Progress, verify: bool, tally: PushTally, *, defer: bool = True) -> OrthancError | None:
    """Count one push job from the destination: its change log since the job began, then a look-up
    of each instance not in it (stored by another run meanwhile, or filtered out).

    Returns the error when the destination cannot be asked (it is away), and the caller stops; with
    ``defer`` the job then goes to ``tally.deferred``, to be counted once the destination is back (it
    may have stored much of it before going away), without it its instances count as failed ("not
    confirmed"). Also returns a full destination found by the diagnosis of a failed job.
    """
    chunk, job = finished.chunk, finished.job
    reason = push_failure_reason(source, job)
    workers = workers_for(source, destination)
    try:
        landed = new_instances_since(destination, finished.mark)
        already = held_by(destination, [i for i in chunk if i not in landed], workers)
        if already:  # stored while the log was read (a cancelled job's last instance): read it again
            landed |= already & new_instances_since(destination, finished.mark)
            already -= landed
        theirs = landed & job.get(LEFT_TO_OTHERS, set())  # an earlier job of another run counts these
        landed -= theirs
        already |= theirs
    except OrthancError as gone:
        if not isinstance(gone, ServerUnreachable):
            raise
        if defer:
            tally.deferred.append(finished)
            return gone
        for instance_id in chunk:
            summary.record_failure(instance_id, f"{reason}; not confirmed: {gone}")
        progress.advance(0, failed=len(chunk))
        return gone
    problems: dict[str, str] = {i: reason for i in chunk if i not in landed and i not in already}
    arrived = [i for i in chunk if i in landed]
    stop: OrthancError | None = None
    if job["State"] != "Success" and problems:  # a push job's reason is opaque: ask the destination itself
        stop = diagnose_failed_push(source, destination, problems, summary, progress, reason)
    if verify:
        problems.update(_unverified(source, destination, arrived, workers))
        summary.verified += len(arrived) - sum(1 for i in arrived if i in problems)
    for instance_id, problem in problems.items():
        summary.record_failure(instance_id, problem)
    size = int(job.get("Content", {}).get("Size", 0))
    counted = [i for i in arrived if i not in problems]
    tally.copied += counted
    summary.copied += len(counted)
    summary.already_present += len(already)
    summary.bytes += size
    progress.advance(len(counted) + len(already), size, failed=len(problems))
    return stop


def _unverified(source: OrthancHook, destination: OrthancHook, arrived: list[str], workers: int) -> dict[str, str]:
    """Instance -> why its MD5 check failed, for those of ``arrived`` whose check fails."""
    def check(instance_id: str) -> str | None:
        try:
            verify_instance(source, destination, instance_id)
        except OrthancError as failure:
            return str(failure)
        return None

    checked = zip(arrived, parallel_map(check, arrived, workers), strict=True)
    return {instance_id: problem for instance_id, problem in checked if problem}
