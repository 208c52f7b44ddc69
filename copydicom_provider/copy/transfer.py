"""Moving instances from one Orthanc to another, in two modes.

* ``rest`` (default): the worker streams ``GET /instances/{id}/file`` from the source straight into
  ``POST /instances`` on the destination, ``max_parallel`` at a time, with ``Accept-Encoding:
  identity``. A body goes through in blocks, never whole in memory, so memory does not grow with
  instance size.
* ``peer``: the source pushes through an Orthanc peers job. The destination is registered on the
  source at run time under a throw-away peer name (``copydicom-<epoch>-<random>``) and removed
  afterwards, also when the job fails, times out or the task is killed; a peer left behind by a
  worker that died is recognised by its name and its jobs (each names its peer in a header) and
  removed by the next peer-mode run.

Counting is done from the destination's answers, never from the sender's hopes: an instance the
destination answers ``AlreadyStored`` for counts as already present (another run stored it), and
what a push job delivered is read back from the destination. Corrections (planned updates: same
ID, other MD5) always go through the worker, which replaces the destination's copy and checks the
MD5 that landed.

One bad instance never stops the others. A server that stops answering does: at its first
"unreachable" error the server is probed once (``GET /system``, a few seconds); if the probe gets
no answer either, the rest of the batch is not attempted (counted apart from failures), so a hung
or vanished server stops a batch within about two timeouts, naming the server that failed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO

import urllib3

from copydicom_provider.copy import arrivals
from copydicom_provider.copy.peer_overlap import ACTIVE_JOB_STATES, PEER_HEADER, job_peer, left_to_earlier_runs
from copydicom_provider.copy.plan import CopyPlan, copy_threads, parallel_map, workers_for
from copydicom_provider.deid import AnonymizationProfile, CannotDeidentify, deidentify_file
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.orthanc_pool import lean_http
from copydicom_provider.jobs.summary import Progress, ReplicationSummary, log

UNREACHABLE_LIMIT = 8
#: The pause before an upload the destination failed inside (HTTP 500) is sent once more.
SERVER_FAULT_PAUSE = 0.2
PROBE_TIMEOUT = 5.0
PEER_JOB_SIZE = 500
#: Push jobs run at once: a job sends one instance at a time, so two keep the destination's ingest
#: busy; two is also Orthanc's default ``ConcurrentJobs`` (more would only queue on the source).
PEER_CONCURRENT_JOBS = 2
#: Pauses between two looks at a running push job: shortest, and longest (its end is noticed within it).
JOB_POLL_MIN, JOB_POLL_MAX = 0.005, 0.2
#: How long one push job may run before it is cancelled (``peer_job_timeout``; jobs hold ~500 instances).
DEFAULT_PEER_JOB_TIMEOUT = 1800.0
#: How long a cancelled push job is given to stop (it ends the instance it is sending).
CANCEL_WAIT = 10.0
PEER_PREFIX = "copydicom-"
#: A copydicom peer the source knows no push job of is taken as left behind only after this age
#: (a run registers its peer just before its first job).
STALE_PEER_GRACE = 120.0
BLOCK = 256 * 1024
#: Key of a finished push job (as this module returns it) for its instances another run counts.
LEFT_TO_OTHERS = "copydicom:left-to-others"
#: Files up to this size are read whole and sent in one request (the lean path); larger ones
#: stream in ``BLOCK``s, so the worker's memory stays flat whatever the instance size.
LEAN_COPY_LIMIT = 4 * 1024 * 1024
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


class NotAttempted(Exception):
    """The batch stopped (a server away or full) after this instance was read and before it was sent."""


def _open_source_file(source: OrthancHook, instance_id: str):
    try:
        return source.instance_file(instance_id)
    except OrthancError as error:
        if error.status == 404:
            raise InstanceVanished(str(error), status=404) from None
        raise


def send_instance(
    source: OrthancHook,
    destination: OrthancHook,
    instance_id: str,
    *,
    anonymize: AnonymizationProfile | None = None,
    expected_id: str | None = None,
    proceed: Callable[[], bool] | None = None,
) -> tuple[int, str]:
    """Stream one instance (or its de-identified version, made in the worker); returns (bytes, status).

    ``status`` is the destination's ``Success`` or ``AlreadyStored``; anything else raises
    :class:`OrthancError` naming the destination and the reason. ``proceed`` is asked between
    reading the file and sending it: False raises :class:`NotAttempted` (a batch being stopped).
    """
    expected_id = expected_id or instance_id
    for attempt in (1, 2):
        try:
            lean = _lean_send(source, destination, instance_id, proceed) if anonymize is None else None
            if lean is not None:
                size, reply = lean
            else:
                size, reply = _send(source, destination, instance_id, anonymize)
            break
        except OrthancError as error:
            if attempt == 2 or not _server_fault(error, destination):
                raise
            log.warning("%s; sending instance %s once more", error, instance_id)
            time.sleep(SERVER_FAULT_PAUSE)
    status = reply.get("Status")
    if status not in ACCEPTED:
        raise OrthancError(
            f"{destination.name} at {destination.url} did not store instance {instance_id}: status {status!r}",
            server=destination.url,
        )
    if reply.get("ID") != expected_id:
        raise OrthancError(
            f"{destination.name} stored instance {instance_id} under another ID {reply.get('ID')!r}",
            server=destination.url,
        )
    return size, str(status)


def _server_fault(error: OrthancError, destination: OrthancHook) -> bool:
    """The destination failed inside (HTTP 500) for a reason that is not a full storage: worth one
    more send. Orthanc 1.10 answers so when two uploads create the same new storage folder at once
    ("Error while accessing the filesystem"). A resend is safe: an instance stored meanwhile is
    answered ``AlreadyStored``, never stored twice."""
    return error.server == destination.url and error.status == 500 and not error.storage_full


def _send(source: OrthancHook, destination: OrthancHook, instance_id: str,
          anonymize: AnonymizationProfile | None) -> tuple[int, dict]:
    """The usual path, through requests: large files stream in blocks; errors in Orthanc's words.

    It holds a slot on both servers (the source's file streams into the upload), always in the
    order source, destination, and the lean path never holds both: no two copies wait on each other.
    """
    with source.slots, destination.slots, _open_source_file(source, instance_id) as response:
        length = response.headers.get("Content-Length")
        if anonymize is not None:
            data = _deidentified(anonymize, response.content, instance_id)
            return len(data), destination.upload_instance(data)
        if length and not response.headers.get("Content-Encoding"):
            return int(length), destination.upload_instance(_StreamedBody(response.raw, int(length)))
        data = response.content
        return len(data), destination.upload_instance(data)


def _lean_send(source: OrthancHook, destination: OrthancHook, instance_id: str,
               proceed: Callable[[], bool] | None) -> tuple[int, dict] | None:
    """(bytes, Orthanc's reply) through the hooks' own urllib3 pools, ~0.8 ms of worker CPU less per instance.

    None sends the caller the usual way: a proxy, a file over ``LEAN_COPY_LIMIT``, or a GET
    answered other than 200 (the usual path then reports it in Orthanc's words). The upload's
    answer is final: a refusal raises Orthanc's error, no answer at all reports the server away.
    """
    lean_source, lean_destination = lean_http(source), lean_http(destination)
    if lean_source is None or lean_destination is None:
        return None
    endpoint = f"/instances/{instance_id}/file"
    try:
        with source.slots:
            body = lean_source.get(endpoint, identity=True, limit=LEAN_COPY_LIMIT, quiet=False)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise source.no_answer("GET", endpoint, exc) from None
    if body is None:
        return None
    try:
        with destination.slots:
            if proceed is not None and not proceed():  # asked once a slot is free: the batch may have stopped
                raise NotAttempted(instance_id)
            status, reply = lean_destination.post("/instances", body, "application/dicom")
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise destination.no_answer("POST", "/instances", exc) from None
    if status != 200:
        raise OrthancError.from_reply(destination.base_url, "POST", "/instances", status, reply, destination.name)
    return len(body), json.loads(reply)


def replace_instance(source: OrthancHook, destination: OrthancHook, instance_id: str) -> int:
    """Bring a corrected instance (same ID, other content) to the destination; returns the bytes sent.

    A destination with ``OverwriteInstances`` replaces it on upload; any other answers
    ``AlreadyStored`` and keeps its copy, which is then deleted and sent again. The MD5 that
    landed is checked against the source's either way.
    """
    size, status = send_instance(source, destination, instance_id)
    if status == "AlreadyStored":
        destination.delete("instances", instance_id)
        size, status = send_instance(source, destination, instance_id)
    verify_instance(source, destination, instance_id)
    return size


def _deidentified(profile: AnonymizationProfile, data: bytes, instance_id: str) -> bytes:
    """The de-identified file; what had to be replaced for want of a readable value is logged (no values)."""
    notes: list[str] = []
    try:
        data = deidentify_file(data, profile, notes)
    except CannotDeidentify:
        raise  # withheld, with the element named
    except Exception as error:  # an unreadable file fails this instance only; no value is echoed
        raise OrthancError(f"could not de-identify instance {instance_id}: {type(error).__name__}") from None
    for note in notes:
        log.warning("instance %s: %s", instance_id, note)
    return data


def storage_full_reason(error: OrthancError) -> str:
    """What a full destination means for the operator, in one line."""
    return (f"{error}. It cannot store more: free disk space there, or raise its MaximumStorageSize or "
            "MaximumPatientCount, or unprotect patients; then rerun (what was copied is not sent again)")


def verify_instance(source: OrthancHook, destination: OrthancHook, instance_id: str) -> None:
    """Compare the MD5 each Orthanc recorded for the stored file."""
    with source.slots:
        expected = source.attachment_md5(instance_id)
    with destination.slots:
        landed = destination.attachment_md5(instance_id)
    if expected != landed:
        raise OrthancError(f"verification failed for {instance_id}: MD5 {landed} on the destination, {expected} on the source")


class _Breaker:
    """Stops a batch once a server is away or full: the rest would fail alike, each at a cost.

    Away: probed at its first 'unreachable' error, tripped if silent. While a probe runs, other
    workers wait instead of starting requests that would each cost a full timeout; after
    ``limit`` consecutive unreachable errors the breaker trips regardless. Full (Orthanc's
    FullStorage or CannotWriteFile): tripped at once, and ``needs_operator`` is set, because no
    retry helps until someone frees space.
    """

    def __init__(self, *hooks: OrthancHook, limit: int = UNREACHABLE_LIMIT) -> None:
        self.hooks = {hook.url: hook for hook in hooks}
        self.limit = limit
        self.consecutive = 0
        self.reason = ""
        self.tripped = False
        self.needs_operator = False
        self._lock = threading.Lock()

    def record(self, error: OrthancError | None) -> None:
        if error is None:
            self.consecutive = 0
            return
        if error.storage_full:
            with self._lock:
                if not self.tripped:
                    self.tripped = self.needs_operator = True
                    self.reason = storage_full_reason(error)
            return
        if not error.unreachable:
            return
        with self._lock:  # one probe at a time; the others wait here for its verdict
            if self.tripped:
                return
            self.consecutive += 1
            hook = self.hooks.get(error.server or "")
            if self.consecutive >= self.limit or hook is None or not hook.responds(min(PROBE_TIMEOUT, hook.settings.timeout)):
                self.tripped = True
                self.reason = str(error)

    def wait(self) -> bool:
        """True when work may go on (blocks while a probe is under way)."""
        with self._lock:
            return not self.tripped


def copy_rest(
    source: OrthancHook,
    destination: OrthancHook,
    plan: CopyPlan,
    summary: ReplicationSummary,
    progress: Progress,
    verify: bool = False,
    logger: logging.Logger = log,
) -> None:
    """The worker streams each planned instance (missing ones, then corrections)."""
    breaker = _Breaker(source, destination)
    lock = threading.Lock()
    updates = set(plan.updates)
    copied: list[str] = []
    unanswered: dict[str, str] = {}  # sent, but the destination's reply was lost: asked again at the end
    try:
        mark: int | None = last_seq(destination)
    except OrthancError:
        mark = None  # the copy itself will say what is wrong

    def one(instance_id: str) -> None:
        kind, size, reason = "skipped", 0, ""
        if breaker.wait():
            try:
                if instance_id in updates:
                    size, kind = replace_instance(source, destination, instance_id), "updated"
                else:
                    size, status = send_instance(
                        source, destination, instance_id,
                        anonymize=plan.anonymize.get(instance_id), expected_id=plan.targets.get(instance_id),
                        proceed=breaker.wait,
                    )
                    kind = "copied" if status == "Success" else "already"
                    if verify and plan.anonymize.get(instance_id) is None:  # an anonymized copy differs by design
                        verify_instance(source, destination, instance_id)
                        kind += "+verified"
                breaker.record(None)
            except InstanceVanished:
                kind = "vanished"
            except NotAttempted:
                kind = "skipped"
            except CannotDeidentify as error:
                kind, reason = "withheld", str(error)
            except OrthancError as error:
                breaker.record(error)
                kind, reason = "failed", str(error)
                if instance_id not in updates and arrivals.reply_lost(error, destination):
                    kind = "unanswered"
        with lock:
            if kind == "unanswered":
                unanswered[instance_id] = reason
            else:
                _count(summary, instance_id, kind, size, reason, logger)
            if kind.startswith("copied"):
                copied.append(plan.targets.get(instance_id, instance_id))
        progress.advance(
            1 if kind.startswith(("copied", "updated", "already")) else 0, size,
            failed=kind in ("failed", "unanswered"), skipped=kind in ("skipped", "vanished", "withheld"),
        )

    for _ in parallel_map(one, [*plan.missing, *plan.updates], copy_threads(source, destination)):
        pass
    if unanswered:
        copied += _confirm_unanswered(destination, unanswered, plan.targets, summary, logger)
    if breaker.tripped:
        summary.stopped = breaker.reason
        summary.needs_operator = breaker.needs_operator
        logger.error("stopped early: %s", breaker.reason)
    elif mark is not None and copied:
        _check_kept(destination, copied, mark, summary, logger)


def _confirm_unanswered(destination: OrthancHook, unanswered: dict[str, str], targets: dict[str, str],
                        summary: ReplicationSummary, logger) -> list[str]:
    """Count uploads whose reply was lost from the destination itself, once it answers again; returns
    the IDs it holds (copied). What it lacks, or all of them if it stays away, counts as failed."""
    expected = {instance_id: targets.get(instance_id, instance_id) for instance_id in unanswered}
    held = arrivals.landed(destination, list(expected.values()))
    arrived = []
    for instance_id, reason in unanswered.items():
        if held is not None and expected[instance_id] in held:
            summary.copied += 1
            arrived.append(expected[instance_id])
        else:
            summary.record_failure(instance_id, reason if held is not None else f"{reason}; not confirmed: it did "
                                   f"not answer again within {arrivals.RETURN_WAIT:g} s")
    if arrived:
        logger.warning("%d upload(s) whose reply was lost had landed on %s: counted as copied",
                       len(arrived), destination.url)
    return arrived


def _check_kept(destination: OrthancHook, copied: list[str], mark: int, summary: ReplicationSummary, logger) -> None:
    """Count as failed what the destination accepted but no longer holds (storage recycling, a filter).

    Orthanc drops a deleted instance's changes from its log, so one read of the log since the batch
    began finds them; only instances missing from it are looked up.
    """
    try:
        landed = new_instances_since(destination, mark)
        suspects = [i for i in copied if i not in landed]
        held = parallel_map(destination.instance_exists, suspects, workers_for(destination))
        gone = [i for i, present in zip(suspects, held) if not present]
    except OrthancError as error:
        logger.warning("could not check that the destination kept what it accepted: %s", error)
        return
    for instance_id in gone:
        summary.copied -= 1
        summary.record_failure(instance_id, "the destination accepted it but no longer holds it: its storage recycles "
                                            "(MaximumStorageSize/MaximumPatientCount) or a filter drops it")
    if gone:
        logger.warning("%d instance(s) accepted by %s were no longer there at the end of the batch: the destination "
                       "does not keep what it receives (storage recycling or a filter); a rerun will send them again",
                       len(gone), destination.url)


def _count(summary: ReplicationSummary, instance_id: str, kind: str, size: int, reason: str, logger) -> None:
    if kind.endswith("+verified"):
        summary.verified += 1
        kind = kind.removesuffix("+verified")
    if kind == "copied":
        summary.copied += 1
        summary.bytes += size
    elif kind == "updated":
        summary.updated += 1
        summary.verified += 1
        summary.bytes += size
        logger.info("updated %s: the source holds a corrected version (another MD5)", instance_id)
    elif kind == "already":
        summary.already_present += 1
        summary.bytes += size
    elif kind == "vanished":
        summary.vanished += 1
    elif kind == "skipped":
        summary.not_attempted += 1
    elif kind == "withheld":
        summary.record_withheld(reason)
    else:
        summary.record_failure(instance_id, reason)


# ---------------------------------------------------------------------------- peer mode
class _PeerJobs:
    """The push jobs and peers this process has under way, for ``on_kill`` to cancel and remove."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[str, tuple[OrthancHook, set[str]]] = {}  # peer -> (source, its running jobs)
        self._cancelled: set[str] = set()  # peers whose jobs were cancelled: a job started later is too

    def set(self, source: OrthancHook, peer: str) -> None:
        with self._lock:
            self._active.setdefault(peer, (source, set()))

    def job(self, peer: str, job_id: str, running: bool = True) -> bool:
        """Note a job started (or ended); False when its peer's jobs were cancelled meanwhile: the
        caller cancels it, since ``cancel_jobs`` could not see a job the source had not yet created."""
        with self._lock:
            if peer in self._active:
                jobs = self._active[peer][1]
                jobs.add(job_id) if running else jobs.discard(job_id)
            return not (running and peer in self._cancelled)

    def cancel_jobs(self, peer: str) -> None:
        """Cancel the peer's running push jobs, and any it starts later (the peer stays: its owner removes it)."""
        with self._lock:
            self._cancelled.add(peer)
            source, jobs = self._active.get(peer, (None, set()))
            jobs = set(jobs)
        for job_id in jobs:
            if source is not None:
                _quietly(source.cancel_job, job_id)

    def cancelled(self, peer: str) -> bool:
        with self._lock:
            return peer in self._cancelled

    def discard(self, peer: str) -> None:
        with self._lock:
            self._active.pop(peer, None)
            self._cancelled.discard(peer)

    def cancel_all(self) -> None:
        with self._lock:
            active, self._active = dict(self._active), {}
            self._cancelled.update(active)  # a job the source is creating meanwhile is cancelled when noted
        for peer, (source, jobs) in active.items():
            for job_id in jobs:
                _quietly(source.cancel_job, job_id)
            _quietly(source.delete_peer, peer)


ACTIVE_PEER_JOBS = _PeerJobs()


def cancel_active_peer_jobs() -> None:
    """Cancel this process's running push jobs and remove their temporary peers (``on_kill``)."""
    ACTIVE_PEER_JOBS.cancel_all()


def _quietly(action, argument: str) -> None:
    """Clean-up that must not hide the error being handled; a failure is logged (the next run retries)."""
    try:
        action(argument)
    except OrthancError as error:
        log.warning("clean-up %s(%s) failed: %s", getattr(action, "__name__", "action"), argument, error)


def new_peer_name(now: float | None = None) -> str:
    return f"{PEER_PREFIX}{int(now if now is not None else time.time())}-{uuid.uuid4().hex[:8]}"


def _peer_age(name: str, now: float) -> float | None:
    stamp = name.removeprefix(PEER_PREFIX).split("-", 1)[0]
    return now - int(stamp) if stamp.isdigit() else None


def remove_stale_peers(source: OrthancHook, max_job_seconds: float, logger: logging.Logger = log) -> list[str]:
    """Remove ``copydicom-*`` peers that a killed worker left on the source; returns their names.

    A peer is stale when the source knows push jobs of it and none is still running (its run ended or
    died: no grace needed), when it is older than a grace period without any job, or when it is older
    than the longest a job may run. Should a live run lose its peer between two jobs, it registers the
    peer again (:func:`_start_push_job`).
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


def copy_peer(
    source: OrthancHook,
    destination: OrthancHook,
    plan: CopyPlan,
    summary: ReplicationSummary,
    progress: Progress,
    verify: bool = False,
    logger: logging.Logger = log,
    job_timeout: float = DEFAULT_PEER_JOB_TIMEOUT,
) -> None:
    """The source pushes the missing instances; corrections go through the worker.

    Jobs hold at most ``PEER_JOB_SIZE`` instances, and ``PEER_CONCURRENT_JOBS`` run at once (a job
    sends one instance at a time). After a destination goes away or fills up, no further job starts.
    """
    peer = new_peer_name()
    login, password = destination.credentials
    url = destination.peer_url

    def register() -> None:
        source.put_peer(peer, url, login, password, headers={PEER_HEADER: peer})

    register()
    ACTIVE_PEER_JOBS.set(source, peer)
    # several jobs per lane, so that both lanes stay busy to the end
    size = max(1, min(PEER_JOB_SIZE, -(-len(plan.missing) // (4 * PEER_CONCURRENT_JOBS))))
    jobs = list(_push_jobs(plan.groups, size))
    stop: list[OrthancError] = []  # the first reason to start no further job
    deferred: list[tuple[list[str], dict, int]] = []  # jobs the destination could not be asked about
    copied: list[str] = []  # what the jobs are counted to have stored
    try:
        first_mark: int | None = last_seq(destination)
    except OrthancError:
        first_mark = None  # the first job will say what is wrong
    held = _FailedJobs()  # no job starts while a failed one awaits its verdict (a full destination?)

    def push(job: tuple[list[str], list[str]]) -> tuple[list[str], dict | None, int]:
        """Run one job in a lane; (its instances, the finished job or None if not started, the mark)."""
        resources, chunk = job
        held.wait()
        if stop:
            return chunk, None, 0
        try:
            mark = last_seq(destination)
        except OrthancError as error:
            stop.append(error)
            return chunk, None, 0
        done = _run_peer_job(source, peer, resources, job_timeout, register, (url, chunk))
        if done["State"] != "Success":
            held.add()
        return chunk, done, mark

    pool = ThreadPoolExecutor(PEER_CONCURRENT_JOBS, thread_name_prefix="copydicom-push")
    try:
        # this thread accounts each finished job (from the destination's log since its mark) while
        # the lanes go on with the next jobs
        for future in [pool.submit(push, job) for job in jobs]:
            chunk, done, mark = future.result()
            if done is None:
                _give_up(summary, progress, [chunk], stop[0], logger)
                continue
            gone = _account_push(source, destination, chunk, done, mark, summary, progress, verify, deferred, copied)
            if gone is not None and not stop:
                stop.append(gone)
                if gone.storage_full:
                    summary.stopped, summary.needs_operator = storage_full_reason(gone), True
            if done["State"] != "Success":
                held.settled()
    except BaseException:  # Ctrl-C, a task timeout: the running jobs are cancelled, so the lanes end now
        stop.append(OrthancError("interrupted"))
        held.release()
        ACTIVE_PEER_JOBS.cancel_jobs(peer)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        ACTIVE_PEER_JOBS.discard(peer)
        _quietly(source.delete_peer, peer)
    if deferred and arrivals.back(destination):  # a restart: count those jobs from the destination after all
        logger.warning("%s answers again: counting %d push job(s) from it", destination.url, len(deferred))
    for chunk, done, mark in deferred:  # (still away: counted as failed, not confirmed)
        _account_push(source, destination, chunk, done, mark, summary, progress, verify, copied_ids=copied)
    if copied and first_mark is not None and not stop:  # a later job's copies may push out an earlier one's
        _check_kept(destination, copied, first_mark, summary, logger)
    if plan.updates:
        rest_part = CopyPlan(updates=list(plan.updates))
        copy_rest(source, destination, rest_part, summary, progress, verify, logger)


class _FailedJobs:
    """Push jobs that failed and are not yet accounted: while there are any, no lane starts a job.

    A job to a full destination fails at its first instance; without this the lanes would run
    every remaining job into the same refusal before the accounting says to stop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending = 0
        self._released = False
        self._open = threading.Event()
        self._open.set()

    def add(self) -> None:
        with self._lock:
            self._pending += 1
            if not self._released:
                self._open.clear()

    def settled(self) -> None:
        with self._lock:
            self._pending -= 1
            if self._pending <= 0:
                self._open.set()

    def release(self) -> None:
        """Open for good (the run is interrupted): a job cancelled by the interruption fails, and
        must not close the gate on a lane that already holds its next job."""
        with self._lock:
            self._released = True
            self._open.set()

    def wait(self) -> None:
        self._open.wait()


def _give_up(summary: ReplicationSummary, progress: Progress, chunks: list[list[str]], error: OrthancError, logger) -> None:
    count = sum(len(chunk) for chunk in chunks)
    if count:
        summary.not_attempted += count
        progress.advance(0, skipped=count)
        logger.error("stopped early, %d instance(s) not attempted: %s", count, error)


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


def _run_peer_job(source: OrthancHook, peer: str, resources: list[str], timeout: float,
                  register: Callable[[], None], target: tuple[str, list[str]]) -> dict:
    """Run one push job to its end, at most ``timeout`` seconds (then it is cancelled). ``target`` is
    the destination's URL and the job's instances; the finished job carries, under ``LEFT_TO_OTHERS``,
    those an earlier job of another run pushes too (:mod:`copydicom_provider.copy.peer_overlap`)."""
    job_id = _start_push_job(source, peer, resources, register)
    if not ACTIVE_PEER_JOBS.job(peer, job_id):  # the run was interrupted while the source created it
        _quietly(source.cancel_job, job_id)
    try:
        others = left_to_earlier_runs(source, job_id, peer, *target)
    except BaseException:
        _quietly(source.cancel_job, job_id)
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
        _quietly(source.cancel_job, job_id)
        raise
    finally:
        ACTIVE_PEER_JOBS.job(peer, job_id, running=False)


def _once_ended(source: OrthancHook, job_id: str, wait: float = CANCEL_WAIT) -> dict:
    """A cancelled job once it has stopped: Orthanc ends the instance it is sending before it stops, and
    counting earlier would call that instance failed when it lands a moment later."""
    deadline = time.monotonic() + wait
    job = source.job(job_id)
    while job.get("State") in ("Pending", "Running") and time.monotonic() < deadline:
        time.sleep(JOB_POLL_MIN * 4)
        job = source.job(job_id)
    return job


def _start_push_job(source: OrthancHook, peer: str, resources: list[str], register: Callable[[], None]) -> str:
    """The new job's ID. A peer gone meanwhile (another run took it for a leftover: all its jobs had
    ended) is registered again, unless this run is being interrupted."""
    try:
        return source.store_to_peer(peer, resources)
    except OrthancError as error:
        if error.status != 404 or ACTIVE_PEER_JOBS.cancelled(peer):
            raise
    log.warning("temporary peer %s was removed from %s by another run; registering it again", peer, source.url)
    register()
    return source.store_to_peer(peer, resources)


def _poll_pause(job: dict, elapsed: float) -> float:
    """Half the time the job's progress says it still needs, within ``JOB_POLL_MIN``..``JOB_POLL_MAX``:
    few looks while it runs, and its end noticed within milliseconds."""
    done = float(job.get("Progress") or 0) / 100
    if done <= 0:
        return JOB_POLL_MIN * 4
    return min(max(elapsed * (1 - done) / done / 2, JOB_POLL_MIN), JOB_POLL_MAX)


def last_seq(server: OrthancHook) -> int:
    last = server.last_change()
    return last["Seq"] if last else 0


def new_instances_since(server: OrthancHook, since: int) -> set[str]:
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
    deferred: list[tuple[list[str], dict, int]] | None = None,
    copied_ids: list[str] | None = None,
) -> OrthancError | None:
    """Count one push job from the destination: its change log since the job began, then a look-up
    of each instance not in it (stored by another run meanwhile, or filtered out).

    A push job reports Success even when the destination filtered instances out, so its word is
    not taken. Returns the error when the destination cannot be asked (it is away), and the caller
    stops; the job then goes to ``deferred``, to be counted once the destination is back (it may
    have stored much of it before going away), or without ``deferred`` its instances count as
    failed ("not confirmed").
    """
    if job["State"] == "Success":
        reason = "the push job succeeded but the destination did not store the instance"
    else:
        details = job.get("ErrorDetails") or job.get("ErrorDescription") or job["State"]
        reason = f"Orthanc push job {job['ID']} on {source.name} ended {job['State']}: {details}"
    workers = workers_for(source, destination)
    try:
        landed = new_instances_since(destination, mark)
        others = [i for i in chunk if i not in landed]
        already = {i for i, held in zip(others, parallel_map(destination.instance_exists, others, workers)) if held}
        if already:  # stored while the log was read (a cancelled job's last instance): read it again
            landed |= already & new_instances_since(destination, mark)
            already -= landed
        theirs = landed & job.get(LEFT_TO_OTHERS, set())  # an earlier job of another run counts these
        landed -= theirs
        already |= theirs
    except OrthancError as gone:
        if not gone.unreachable:
            raise
        if deferred is not None:
            deferred.append((chunk, job, mark))
            return gone
        for instance_id in chunk:
            summary.record_failure(instance_id, f"{reason}; not confirmed: {gone}")
        progress.advance(0, failed=len(chunk))
        return gone
    problems: dict[str, str] = {i: reason for i in chunk if i not in landed and i not in already}
    arrived = [i for i in chunk if i in landed]
    stop: OrthancError | None = None
    if job["State"] != "Success" and problems:  # a push job's reason is opaque: ask the destination itself
        stop = _diagnose_failed_push(source, destination, problems, summary, progress, reason)
    if verify:
        def check(instance_id: str) -> str | None:
            try:
                verify_instance(source, destination, instance_id)
            except OrthancError as failure:
                return str(failure)
            return None

        for instance_id, problem in zip(arrived, parallel_map(check, arrived, workers)):
            if problem:
                problems[instance_id] = problem
        summary.verified += len(arrived) - sum(1 for i in arrived if i in problems)
    for instance_id, problem in problems.items():
        summary.record_failure(instance_id, problem)
    size = int(job.get("Content", {}).get("Size", 0))
    counted = [i for i in arrived if i not in problems]
    if copied_ids is not None:
        copied_ids += counted
    copied = len(counted)
    summary.copied += copied
    summary.already_present += len(already)
    summary.bytes += size
    progress.advance(copied + len(already), size, failed=len(problems))
    return stop


def _diagnose_failed_push(source: OrthancHook, destination: OrthancHook, problems: dict[str, str],
                          summary: ReplicationSummary, progress: Progress, reason: str) -> OrthancError | None:
    """Send the first instance a failed push job did not deliver through the worker, for the
    destination's own answer ("Error in the network protocol" is all the source reports).

    Delivered, it counts; refused, its reason is recorded. A full destination is returned, so the
    caller stops instead of pushing jobs that would fail alike.
    """
    first = next(iter(problems))
    try:
        size, status = send_instance(source, destination, first)
    except InstanceVanished:
        del problems[first]
        summary.vanished += 1
        progress.advance(0, skipped=1)
        return None
    except OrthancError as refusal:
        problems[first] = f"{reason}; sent again by the worker: {refusal}"
        return refusal if refusal.storage_full else None
    del problems[first]
    _count(summary, first, "copied" if status == "Success" else "already", size, "", log)
    progress.advance(1, size)
    return None
