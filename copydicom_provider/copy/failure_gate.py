"""When a batch stops: the rest would fail alike, each at a cost.

Why in one place: one bad instance never stops the others, but a server that stops answering, or a
destination that is full, does. The rest mode asks :class:`FailureGate` before each instance; the
peer mode's lanes ask :class:`PushGate` before each push job.
"""

from __future__ import annotations

import threading

from copydicom_provider.copy.diagnosis import storage_full_reason
from copydicom_provider.errors import ServerUnreachable, StorageFull
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook

UNREACHABLE_LIMIT = 8
PROBE_TIMEOUT = 5.0


class FailureGate:
    """Stops a rest batch once a server is away or full.

    Away: probed at its first 'unreachable' error (``GET /system``, a few seconds), tripped if silent,
    so a hung or vanished server stops a batch within about two timeouts. While a probe runs, other
    workers wait instead of starting requests that would each cost a full timeout; after ``limit``
    consecutive unreachable errors the gate trips regardless. Full (Orthanc's FullStorage or
    CannotWriteFile): tripped at once, and ``needs_operator`` is set, because no retry helps until
    someone frees space.
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
        """Note one instance's result: None for a success, else its error."""
        if error is None:
            self.consecutive = 0
            return
        if isinstance(error, StorageFull):
            with self._lock:
                if not self.tripped:
                    self.tripped = self.needs_operator = True
                    self.reason = storage_full_reason(error)
            return
        if not isinstance(error, ServerUnreachable):
            return
        with self._lock:  # one probe at a time; the others wait here for its verdict
            if self.tripped:
                return
            self.consecutive += 1
            if self.consecutive >= self.limit or not self._answers(error.server or ""):
                self.tripped = True
                self.reason = str(error)

    def _answers(self, url: str) -> bool:
        hook = self.hooks.get(url)
        return hook is not None and hook.responds(min(PROBE_TIMEOUT, hook.settings.timeout))

    def wait(self) -> bool:
        """True when work may go on (blocks while a probe is under way)."""
        with self._lock:
            return not self.tripped


class PushGate:
    """When the lanes of a peer run start no further push job.

    The first reason to stop (the destination away or full, an interruption) is kept and named. And
    while a failed job is not yet accounted, no lane starts one: a job to a full destination fails at
    its first instance, and without the wait the lanes would run every remaining job into the same
    refusal before the accounting says to stop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reason: OrthancError | None = None
        self._pending = 0
        self._released = False
        self._open = threading.Event()
        self._open.set()

    def stop(self, error: OrthancError) -> bool:
        """Start no further job; True when ``error`` is the first reason given."""
        with self._lock:
            first = self.reason is None
            if first:
                self.reason = error
            return first

    def failed(self) -> None:
        """A job failed: lanes wait until it is accounted (:meth:`settled`)."""
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

    def wait(self) -> OrthancError | None:
        """Once no failed job awaits its verdict: the reason to stop, or None to start the next job."""
        self._open.wait()
        return self.reason
