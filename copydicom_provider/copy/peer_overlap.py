"""Two peer-mode runs pushing the same instances at once: which run counts them.

Why: a push job says nothing per instance, so a run counts what a job delivered from the
destination's change log; two runs pushing the same instances at once both find them there (they
reported 903 + 1000 copied for 1000 stored). Each push job names its peer in a header
(``PEER_HEADER``), so right after creating a job a run reads the source's job list: a job of another
copydicom peer to the same destination, created earlier and not ended before this one began, covers
instances this job pushes too. Those are the earlier job's to count (its run counts them as copied
if they landed in its window), and this run counts them as already present. Orthanc registers jobs
in order, so the list read after creating a job holds every job created before it. Costs one
``GET /jobs`` per push job, and a study's instance list per study of an overlapping job.
"""

from __future__ import annotations

from typing import Any

from copydicom_provider.hooks.orthanc import OrthancHook

PEER_HEADER = "X-Copydicom-Peer"
ACTIVE_JOB_STATES = {"Pending", "Running", "Paused"}


def job_peer(job: dict[str, Any]) -> tuple[str, str]:
    """(the copydicom peer a push job names, or "", the URL it pushes to)."""
    peer = job.get("Content", {}).get("Peer")
    peer = peer if isinstance(peer, dict) else {}
    return str((peer.get("HttpHeaders") or {}).get(PEER_HEADER) or ""), str(peer.get("Url", ""))


def left_to_earlier_runs(source: OrthancHook, job_id: str, peer: str, url: str, chunk: list[str]) -> set[str]:
    """Instances of ``chunk`` that an earlier, overlapping push job of another run also pushes."""
    jobs = source.jobs()
    mine = next((job for job in jobs if job.get("ID") == job_id), None)
    if mine is None:
        return set()
    began = (str(mine.get("CreationTime", "")), job_id)
    wanted = set(chunk)
    covered: set[str] = set()
    for job in jobs:
        name, target = job_peer(job)
        if job.get("Type") != "OrthancPeerStore" or not name or name == peer or target.rstrip("/") != url.rstrip("/"):
            continue
        ended_before = job.get("State") not in ACTIVE_JOB_STATES and str(job.get("CompletionTime", "")) < began[0]
        if ended_before or (str(job.get("CreationTime", "")), str(job.get("ID"))) >= began:
            continue
        for resource in job.get("Content", {}).get("ParentResources") or []:
            if resource in wanted:
                covered.add(resource)
            else:
                covered.update(wanted.intersection(_study_instances(source, resource)))
    return covered


def _study_instances(source: OrthancHook, resource: str) -> list[str]:
    """The instances of ``resource`` if it is a study; none for an instance (Orthanc answers 400) or a
    study gone meanwhile (404)."""
    response = source.request("GET", f"/studies/{resource}/instances", ok=(200, 400, 404))
    return [item["ID"] for item in response.json()] if response.status_code == 200 else []
