"""The push jobs and temporary peers this process has under way, for ``on_kill`` and Ctrl-C to cancel.

Why process-wide: the operator's ``on_kill`` and the CLI's interrupt handler run apart from the copy
that started the jobs, and must still leave no push job running and no peer on the source.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.summary import log


class _PeerJobs:
    """The push jobs and peers this process has under way, for ``on_kill`` to cancel and remove."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[str, tuple[OrthancHook, set[str]]] = {}  # peer -> (source, its running jobs)
        self._cancelled: set[str] = set()  # peers whose jobs were cancelled: a job started later is too

    def set(self, source: OrthancHook, peer: str) -> None:
        """Note a peer registered on ``source``."""
        with self._lock:
            self._active.setdefault(peer, (source, set()))

    def job(self, peer: str, job_id: str, running: bool = True) -> bool:
        """Note a job started (or ended); False when its peer's jobs were cancelled meanwhile: the
        caller cancels it, since ``cancel_jobs`` could not see a job the source had not yet created."""
        with self._lock:
            if peer in self._active:
                jobs = self._active[peer][1]
                if running:
                    jobs.add(job_id)
                else:
                    jobs.discard(job_id)
            return not (running and peer in self._cancelled)

    def cancel_jobs(self, peer: str) -> None:
        """Cancel the peer's running push jobs, and any it starts later (the peer stays: its owner removes it)."""
        with self._lock:
            self._cancelled.add(peer)
            source, jobs = self._active.get(peer, (None, set()))
            jobs = set(jobs)
        for job_id in jobs:
            if source is not None:
                quietly(source.cancel_job, job_id)

    def cancelled(self, peer: str) -> bool:
        with self._lock:
            return peer in self._cancelled

    def discard(self, peer: str) -> None:
        """Forget a peer its run has removed."""
        with self._lock:
            self._active.pop(peer, None)
            self._cancelled.discard(peer)

    def cancel_all(self) -> None:
        """Cancel every peer's jobs and remove the peers; a job the source is creating meanwhile is
        cancelled when it is noted."""
        with self._lock:
            active, self._active = dict(self._active), {}
            self._cancelled.update(active)
        for peer, (source, jobs) in active.items():
            for job_id in jobs:
                quietly(source.cancel_job, job_id)
            quietly(source.delete_peer, peer)


ACTIVE_PEER_JOBS = _PeerJobs()


def cancel_active_peer_jobs() -> None:
    """Cancel this process's running push jobs and remove their temporary peers (``on_kill``)."""
    ACTIVE_PEER_JOBS.cancel_all()


def quietly(action: Callable[[str], Any], argument: str) -> None:
    """Clean-up that must not hide the error being handled; a failure is logged (the next run retries)."""
    try:
        action(argument)
    except OrthancError as error:
        log.warning("clean-up %s(%s) failed: %s", getattr(action, "__name__", "action"), argument, error)
