"""The throw-away peer a peer-mode run registers on the source, and removing those a dead worker left.

Why: the destination is registered on the source at run time under a name that says who made it and
when (``copydicom-<epoch>-<random>``), and removed afterwards. A worker that was killed cannot remove
it, so the next peer-mode run recognises it by its name and its push jobs (each names its peer in a
header) and removes it: no credentials stay on the source.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from copydicom_provider.copy.peer_overlap import ACTIVE_JOB_STATES, PEER_HEADER, job_peer
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.summary import log

PEER_PREFIX = "copydicom-"
#: A copydicom peer the source knows no push job of is taken as left behind only after this age
#: (a run registers its peer just before its first job).
STALE_PEER_GRACE = 120.0


def new_peer_name(now: float | None = None) -> str:
    return f"{PEER_PREFIX}{int(now if now is not None else time.time())}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class TemporaryPeer:
    """The destination as one run registers it on the source: a fresh name, the URL the source
    reaches it at, and the destination's credentials."""

    source: OrthancHook
    name: str
    url: str
    login: str | None
    password: str | None

    @classmethod
    def for_destination(cls, source: OrthancHook, destination: OrthancHook) -> TemporaryPeer:
        name = new_peer_name()
        login, password = destination.credentials
        return cls(source, name, destination.peer_url, login, password)

    def register(self) -> None:
        """Register (or register again) the peer; its name goes in a header with every push."""
        self.source.put_peer(self.name, self.url, self.login, self.password, headers={PEER_HEADER: self.name})


def _peer_age(name: str, now: float) -> float | None:
    stamp = name.removeprefix(PEER_PREFIX).split("-", 1)[0]
    return now - int(stamp) if stamp.isdigit() else None


def remove_stale_peers(source: OrthancHook, max_job_seconds: float, logger: logging.Logger = log) -> list[str]:
    """Remove ``copydicom-*`` peers that a killed worker left on the source; returns their names.

    A peer is stale when the source knows push jobs of it and none is still running (its run ended or
    died: no grace needed), when it is older than a grace period without any job, or when it is older
    than the longest a job may run. Should a live run lose its peer between two jobs, it registers the
    peer again (:func:`copydicom_provider.copy.push_job.run_push_job`).
    """
    now = time.time()
    jobs_of, busy_urls = _push_job_states(source)
    removed = []
    for name, peer in source.peers().items():
        age = _peer_age(name, now) if name.startswith(PEER_PREFIX) else None
        if age is None:
            continue
        states = jobs_of.get(name, set())
        if states & ACTIVE_JOB_STATES:
            stale = age > max_job_seconds + STALE_PEER_GRACE
        elif states:
            stale = True
        else:  # no job known (none yet, or forgotten: the source keeps a short job history)
            stale = age > STALE_PEER_GRACE and str(peer.get("Url", "")) not in busy_urls
        if stale:
            source.delete_peer(name)
            removed.append(name)
    if removed:
        logger.warning("removed %d temporary peer(s) left on %s by an interrupted run: %s",
                       len(removed), source.url, ", ".join(removed))
    return removed


def _push_job_states(source: OrthancHook) -> tuple[dict[str, set[str]], set[str]]:
    """The states of each peer's push jobs known to the source (by ``PEER_HEADER``), and the URLs that
    jobs naming no peer (of an older copydicom) are pushing to."""
    jobs_of: dict[str, set[str]] = {}
    busy_urls: set[str] = set()
    for job in source.jobs():
        if job.get("Type") != "OrthancPeerStore":
            continue
        name, url = job_peer(job)
        if name:
            jobs_of.setdefault(name, set()).add(job.get("State", ""))
        elif job.get("State") in ACTIVE_JOB_STATES:
            busy_urls.add(url)
    return jobs_of, busy_urls
