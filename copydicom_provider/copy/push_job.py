"""One Orthanc push job, from its start to its end: started, watched, and cancelled when it runs too long.

Why apart: a push job is the unit the peer mode runs in its lanes and counts; everything about one job's
life (a peer removed meanwhile, an interruption while the source creates it, polling, the timeout and
the instance still landing after a cancel) is here, and the lanes only start jobs and count them.
"""

from __future__ import annotations

import time
from typing import Any

from copydicom_provider.copy.peer_jobs import ACTIVE_PEER_JOBS, quietly
from copydicom_provider.copy.peer_overlap import left_to_earlier_runs
from copydicom_provider.copy.temporary_peer import TemporaryPeer
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.summary import log

#: Pauses between two looks at a running push job: shortest, and longest (its end is noticed within it).
JOB_POLL_MIN, JOB_POLL_MAX = 0.005, 0.2
#: How long one push job may run before it is cancelled (``peer_job_timeout``; jobs hold ~500 instances).
DEFAULT_PEER_JOB_TIMEOUT = 1800.0
#: How long a cancelled push job is given to stop (it ends the instance it is sending).
CANCEL_WAIT = 10.0
#: Key of a finished push job (as :func:`run_push_job` returns it) for its instances another run counts.
LEFT_TO_OTHERS = "copydicom:left-to-others"


def run_push_job(peer: TemporaryPeer, resources: list[str], chunk: list[str], timeout: float) -> dict[str, Any]:
    """Run one push job of ``resources`` (covering the instances ``chunk``) to its end, at most ``timeout``
    seconds (then it is cancelled). The finished job carries, under ``LEFT_TO_OTHERS``, the instances an
    earlier job of another run pushes too (:mod:`copydicom_provider.copy.peer_overlap`)."""
    source = peer.source
    job_id = _start_push_job(peer, resources)
    if not ACTIVE_PEER_JOBS.job(peer.name, job_id):  # the run was interrupted while the source created it
        quietly(source.cancel_job, job_id)
    try:
        others = left_to_earlier_runs(source, job_id, peer.name, peer.url, chunk)
    except BaseException:
        quietly(source.cancel_job, job_id)
        raise
    started = time.monotonic()
    deadline = started + timeout
    try:
        while True:
            job = source.job(job_id)
            if job["State"] in {"Success", "Failure", "Paused"}:
                return {**job, LEFT_TO_OTHERS: others}
            if time.monotonic() > deadline:
                source.cancel_job(job_id)
                job = _once_ended(source, job_id)  # the instance it was sending lands (or not) first
                job["State"] = "Failure"
                job["ErrorDetails"] = f"cancelled after {timeout:g} s (peer_job_timeout)"
                return {**job, LEFT_TO_OTHERS: others}
            time.sleep(_poll_pause(job, time.monotonic() - started))
    except BaseException:  # a timeout of the task, Ctrl-C, an error while polling: no orphan job
        quietly(source.cancel_job, job_id)
        raise
    finally:
        ACTIVE_PEER_JOBS.job(peer.name, job_id, running=False)


def _once_ended(source: OrthancHook, job_id: str, wait: float = CANCEL_WAIT) -> dict[str, Any]:
    """A cancelled job once it has stopped: Orthanc ends the instance it is sending before it stops, and
    counting earlier would call that instance failed when it lands a moment later."""
    deadline = time.monotonic() + wait
    job = source.job(job_id)
    while job.get("State") in ("Pending", "Running") and time.monotonic() < deadline:
        time.sleep(JOB_POLL_MIN * 4)
        job = source.job(job_id)
    return job


def _start_push_job(peer: TemporaryPeer, resources: list[str]) -> str:
    """The new job's ID. A peer gone meanwhile (another run took it for a leftover: all its jobs had
    ended) is registered again, unless this run is being interrupted."""
    try:
        return peer.source.store_to_peer(peer.name, resources)
    except OrthancError as error:
        if error.status != 404 or ACTIVE_PEER_JOBS.cancelled(peer.name):
            raise
    log.warning("temporary peer %s was removed from %s by another run; registering it again",
                peer.name, peer.source.url)
    peer.register()
    return peer.source.store_to_peer(peer.name, resources)


def _poll_pause(job: dict[str, Any], elapsed: float) -> float:
    """Half the time the job's progress says it still needs, within ``JOB_POLL_MIN``..``JOB_POLL_MAX``:
    few looks while it runs, and its end noticed within milliseconds."""
    done = float(job.get("Progress") or 0) / 100
    if done <= 0:
        return JOB_POLL_MIN * 4
    return min(max(elapsed * (1 - done) / done / 2, JOB_POLL_MIN), JOB_POLL_MAX)
