"""Moving instances from one Orthanc to another, in two modes.

* ``rest`` (default): the worker streams ``GET /instances/{id}/file`` from the source straight into
  ``POST /instances`` on the destination, ``max_parallel`` at a time, with ``Accept-Encoding:
  identity``. A body goes through in blocks, never whole in memory, so memory does not grow with
  instance size.
* ``peer``: the source pushes through an Orthanc peers job. The destination is registered on the
  source at run time under a throw-away peer name (from the destination's Airflow connection) and
  removed afterwards, so nothing lingers in the source's configuration.

Both report per instance: one bad instance never stops the others. After a run of consecutive
"unreachable" errors the rest of the batch is not attempted: a server that went away fails the task
quickly, and Airflow's retry copies only what is still missing.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import IO

from copydicom_provider.core.anonymize import AnonymizationProfile
from copydicom_provider.core.plan import CopyPlan, parallel_map, workers_for
from copydicom_provider.core.progress import Progress, ReplicationSummary
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook

UNREACHABLE_LIMIT = 8
PEER_JOB_SIZE = 2000
BLOCK = 256 * 1024
#: Orthanc's upload statuses that mean "the destination now holds it" ("FilteredOut" does not).
ACCEPTED = {"Success", "AlreadyStored"}


class _StreamedBody:
    """A file-like view of the source's response with a known length, so the upload is not chunked."""

    def __init__(self, raw: IO[bytes], length: int) -> None:
        self._raw = raw
        self._length = length

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        return self._raw.read(BLOCK if size is None or size < 0 else max(size, BLOCK))


class InstanceVanished(OrthancError):
    """The source no longer has an instance it listed: reported, not a failure to retry."""


def _open_source_file(source: OrthancHook, instance_id: str):
    try:
        return source.instance_file(instance_id)
    except OrthancError as error:
        if error.status == 404:
            raise InstanceVanished(str(error), status=404) from None
        raise


def copy_instance(
    source: OrthancHook,
    destination: OrthancHook,
    instance_id: str,
    verify: bool = False,
    *,
    anonymize: AnonymizationProfile | None = None,
    expected_id: str | None = None,
) -> int:
    """Copy one instance (or its de-identified version, made in the worker); returns the bytes sent.

    Raises :class:`OrthancError` naming the server and the reason.
    """
    expected_id = expected_id or instance_id
    with _open_source_file(source, instance_id) as response:
        length = response.headers.get("Content-Length")
        if anonymize is not None:
            data = _deidentified(anonymize, response.content, instance_id)
            size = len(data)
            reply = destination.upload_instance(data)
        elif length and not response.headers.get("Content-Encoding"):
            size = int(length)
            reply = destination.upload_instance(_StreamedBody(response.raw, size))
        else:
            data = response.content
            size = len(data)
            reply = destination.upload_instance(data)
    status = reply.get("Status")
    if status not in ACCEPTED:
        raise OrthancError(f"the destination did not store instance {instance_id}: status {status!r}")
    if reply.get("ID") != expected_id:
        raise OrthancError(f"the destination stored instance {instance_id} under another ID {reply.get('ID')!r}")
    if verify and anonymize is None:  # an anonymized copy differs from the source by design
        verify_instance(source, destination, instance_id)
    return size


def _deidentified(profile: AnonymizationProfile, data: bytes, instance_id: str) -> bytes:
    try:
        return profile.deidentify(data)
    except Exception as error:  # an unreadable file fails this instance only; no value is echoed
        raise OrthancError(f"could not de-identify instance {instance_id}: {type(error).__name__}") from None


def verify_instance(source: OrthancHook, destination: OrthancHook, instance_id: str) -> None:
    """Compare the MD5 each Orthanc recorded for the stored file."""
    expected, landed = source.attachment_md5(instance_id), destination.attachment_md5(instance_id)
    if expected != landed:
        raise OrthancError(f"verification failed for {instance_id}: MD5 {landed} on the destination, {expected} on the source")


class _Breaker:
    """Counts consecutive 'unreachable' failures; trips so that the rest of a batch is skipped."""

    def __init__(self, limit: int = UNREACHABLE_LIMIT) -> None:
        self.limit = limit
        self.consecutive = 0
        self.reason = ""
        self._lock = threading.Lock()

    @property
    def tripped(self) -> bool:
        return self.consecutive >= self.limit

    def record(self, error: OrthancError | None) -> None:
        with self._lock:
            if error is not None and error.unreachable:
                self.consecutive += 1
                self.reason = str(error)
            elif error is None:
                self.consecutive = 0


def copy_rest(
    source: OrthancHook,
    destination: OrthancHook,
    plan: CopyPlan,
    summary: ReplicationSummary,
    progress: Progress,
    verify: bool = False,
) -> None:
    breaker = _Breaker()
    lock = threading.Lock()

    def one(instance_id: str) -> None:
        if breaker.tripped:
            outcome: tuple[str, object] = ("failed", f"not attempted: {breaker.reason}")
        else:
            try:
                size = copy_instance(
                    source, destination, instance_id, verify,
                    anonymize=plan.anonymize.get(instance_id), expected_id=plan.targets.get(instance_id),
                )
                outcome = ("copied", size)
                breaker.record(None)
            except InstanceVanished as error:
                outcome = ("vanished", str(error))
            except OrthancError as error:
                breaker.record(error)
                outcome = ("failed", str(error))
        with lock:
            kind, value = outcome
            if kind == "copied":
                summary.copied += 1
                summary.bytes += int(value)  # type: ignore[arg-type]
            elif kind == "vanished":
                summary.vanished += 1
            else:
                summary.record_failure(instance_id, str(value))
        progress.advance(1, int(value) if kind == "copied" else 0)  # type: ignore[arg-type]

    for _ in parallel_map(one, plan.missing, workers_for(source, destination)):
        pass


def copy_peer(
    source: OrthancHook,
    destination: OrthancHook,
    plan: CopyPlan,
    summary: ReplicationSummary,
    progress: Progress,
    verify: bool = False,
) -> None:
    peer = f"copydicom-{uuid.uuid4().hex[:12]}"
    login, password = destination.credentials
    source.put_peer(peer, destination.peer_url, login, password)
    try:
        for resources, chunk in _push_jobs(plan.groups):
            mark = _last_seq(destination)
            job = _run_peer_job(source, peer, resources)
            _account_push(source, destination, chunk, job, mark, summary, progress, verify)
    finally:
        source.delete_peer(peer)


def _push_jobs(groups: list[tuple[str, list[str]]]) -> Iterator[tuple[list[str], list[str]]]:
    """Resources per job and the instances they cover, about ``PEER_JOB_SIZE`` instances a job."""
    resources: list[str] = []
    chunk: list[str] = []
    for resource, instances in groups:
        resources.append(resource)
        chunk += instances
        if len(chunk) >= PEER_JOB_SIZE:
            yield resources, chunk
            resources, chunk = [], []
    if resources:
        yield resources, chunk


def _run_peer_job(source: OrthancHook, peer: str, resources: list[str]) -> dict:
    """Run one push job to its end; polls fast at first, then every half second."""
    job_id = source.store_to_peer(peer, resources)
    pause = 0.01
    while True:
        job = source.job(job_id)
        if job["State"] in {"Success", "Failure", "Paused"}:
            return job
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def _last_seq(server: OrthancHook) -> int:
    last = server.last_change()
    return last["Seq"] if last else 0


def _new_instances_since(server: OrthancHook, since: int) -> set[str]:
    """IDs the server stored after change ``since``: a page per 1000 changes."""
    landed: set[str] = set()
    while True:
        page = server.changes(since=since, limit=1000)
        landed.update(c["ID"] for c in page["Changes"] if c["ChangeType"] == "NewInstance")
        if page["Done"] or not page["Changes"]:
            return landed
        since = page["Last"]


def _account_push(
    source: OrthancHook,
    destination: OrthancHook,
    chunk: list[str],
    job: dict,
    mark: int,
    summary: ReplicationSummary,
    progress: Progress,
    verify: bool,
) -> None:
    """What landed is what the destination's change log shows since the job began.

    A push job reports Success even when the destination filtered instances out, so its word is
    not taken; reading the destination's change log costs one request per 1000 instances.
    """
    if job["State"] == "Success":
        reason = "the push job succeeded but the destination did not store the instance"
    else:
        details = job.get("ErrorDetails") or job.get("ErrorDescription") or job["State"]
        reason = f"Orthanc push job {job['ID']} ended {job['State']}: {details}"
    try:
        landed = _new_instances_since(destination, mark)
    except OrthancError as gone:
        landed, reason = set(), f"{reason}; {gone}"
    problems: dict[str, str] = {i: reason for i in chunk if i not in landed}
    if verify:
        def check(instance_id: str) -> str | None:
            try:
                verify_instance(source, destination, instance_id)
            except OrthancError as failure:
                return str(failure)
            return None

        arrived = [i for i in chunk if i in landed]
        for instance_id, problem in zip(arrived, parallel_map(check, arrived, workers_for(source, destination))):
            if problem:
                problems[instance_id] = problem
    for instance_id, problem in problems.items():
        summary.record_failure(instance_id, problem)
    size = int(job.get("Content", {}).get("Size", 0))
    summary.copied += len(chunk) - len(problems)
    summary.bytes += size
    progress.advance(len(chunk), size)
