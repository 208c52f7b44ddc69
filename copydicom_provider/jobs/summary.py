"""Job summaries and progress reporting, shared by the operators, the CLI and the library.

A task log gets a progress line at a steady cadence (done/total, rate, ETA); a terminal gets a
tqdm bar instead when tqdm is installed. Summaries are plain dicts in XCom so that mapped tasks can
be added up downstream.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, TypeVar

log = logging.getLogger("copydicom_provider")
MAX_REPORTED_FAILURES = 10


SummaryT = TypeVar("SummaryT", bound="JobSummary")


@dataclass
class JobSummary:
    """What one job did, as XCom: counts that ``merge`` adds up over mapped batches, and failures."""

    dry_run: bool = False
    failed: int = 0
    vanished: int = 0
    seconds: float = 0.0
    failures: list[list[str]] = field(default_factory=list)

    #: the counters ``merge`` adds up; ``DONE`` is the one the rate is computed from
    COUNTS: ClassVar[tuple[str, ...]] = ("failed", "vanished")
    DONE: ClassVar[str] = "failed"

    @property
    def incomplete(self) -> bool:
        """Whether the job left work undone (the task fails; a rerun does only that work)."""
        return bool(self.failed)

    def needs_operator_first(self) -> bool:
        """Whether someone must act before a retry can succeed (a full destination): the task fails without retries."""
        return False

    @property
    def instances_per_second(self) -> float:
        done = getattr(self, self.DONE)
        return round(done / self.seconds, 1) if self.seconds > 0 else 0.0

    def record_failure(self, instance_id: str, reason: str) -> None:
        self.failed += 1
        if len(self.failures) < MAX_REPORTED_FAILURES:
            self.failures.append([instance_id, reason])

    def merge(self, other: JobSummary) -> JobSummary:
        """Add ``other``'s counts to these; a count ``other``'s kind does not keep adds nothing."""
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name, 0))
        self.seconds = round(self.seconds + other.seconds, 3)
        self.failures += other.failures[: MAX_REPORTED_FAILURES - len(self.failures)]
        self.dry_run = self.dry_run or other.dry_run
        return self

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        data["instances_per_second"] = self.instances_per_second
        return data

    @classmethod
    def from_dict(cls: type[SummaryT], data: dict[str, Any]) -> SummaryT:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def label(self) -> str:
        """A few words for the Airflow grid's mapped-task label."""
        return f"{self.failed} failed"

    def line(self) -> str:
        """The one-line summary of the task log and the CLI; each job words its own."""
        raise NotImplementedError

    def failure_text(self) -> str:
        listed = "; ".join(f"{instance}: {reason}" for instance, reason in self.failures)
        more = self.failed - len(self.failures)
        return f"{self.failed} instance(s) failed: {listed}" + (f" (and {more} more)" if more > 0 else "")


@dataclass
class ReplicationSummary(JobSummary):
    """What one copy did, counted from what the destination answered.

    ``copied`` counts instances this run stored; one the destination answered ``AlreadyStored``
    for (another run got there first) counts in ``already_present``, so two runs at once together
    report each instance once. ``updated`` counts corrections: instances re-stored on the source
    with other content (another MD5), replaced on the destination. ``not_attempted`` counts
    instances skipped after a server stopped answering (a rerun copies them).
    """

    mode: str = "rest"
    candidates: int = 0
    already_present: int = 0
    to_copy: int = 0
    to_update: int = 0
    copied: int = 0
    updated: int = 0
    not_attempted: int = 0
    verified: int = 0
    bytes: int = 0
    #: not sent de-identified because they may carry burned-in text; reason -> count
    withheld: int = 0
    withheld_reasons: dict[str, int] = field(default_factory=dict)
    #: why a batch stopped before attempting everything ("" when it did not)
    stopped: str = ""
    #: the stop needs someone to act first (a full destination): a retry would only fail again
    needs_operator: bool = False

    COUNTS: ClassVar[tuple[str, ...]] = (
        "candidates", "already_present", "to_copy", "to_update", "copied", "updated", "failed", "not_attempted",
        "vanished", "verified", "bytes", "withheld",
    )
    DONE: ClassVar[str] = "copied"

    @property
    def incomplete(self) -> bool:
        """Something this run should have copied is not on the destination: the task fails, a rerun resumes."""
        return bool(self.failed or self.not_attempted)

    def needs_operator_first(self) -> bool:
        return self.needs_operator

    def record_withheld(self, reason: str) -> None:
        self.withheld += 1
        self.withheld_reasons[reason] = self.withheld_reasons.get(reason, 0) + 1

    def merge(self, other: JobSummary) -> JobSummary:
        super().merge(other)
        if not isinstance(other, ReplicationSummary):
            return self
        self.mode = other.mode  # the batches of one run share it
        for reason, count in other.withheld_reasons.items():
            self.withheld_reasons[reason] = self.withheld_reasons.get(reason, 0) + count
        if other.needs_operator and not self.needs_operator:
            self.stopped, self.needs_operator = other.stopped, True  # the reason that asks for action leads
        self.stopped = self.stopped or other.stopped
        return self

    def line(self) -> str:
        """The totals first (a log view cuts long lines at the right), then the details."""
        if self.dry_run:
            done = f"would copy {self.to_copy}" + (f" and update {self.to_update}" if self.to_update else "")
        else:
            done = f"copied {self.copied}" + (f", updated {self.updated}" if self.to_update or self.updated else "")
        text = f"{done}, {self.already_present} already present, {self.failed} failed"
        if self.not_attempted:
            text += f", {self.not_attempted} not attempted"
        if self.vanished:
            text += f", {self.vanished} no longer on the source"
        if self.verified:
            text += f", {self.verified} verified by MD5"
        if self.withheld:
            reasons = "; ".join(f"{count} {reason}" for reason, count in sorted(self.withheld_reasons.items()))
            text += f", {self.withheld} withheld from de-identification ({reasons})"
        return text + (
            f" of {self.candidates} candidates ({self.bytes / 1e6:.1f} MB in {self.seconds:.1f} s, "
            f"{self.instances_per_second} instances/s, mode {self.mode})"
        )

    def label(self) -> str:
        """A few words for the Airflow grid's mapped-task label."""
        done = f"would copy {self.to_copy}" if self.dry_run else f"copied {self.copied}"
        text = f"{done}, {self.already_present} present"
        if self.updated:
            text += f", {self.updated} updated"
        if self.withheld:
            text += f", {self.withheld} withheld"
        if self.failed or self.not_attempted:
            text += f", {self.failed + self.not_attempted} NOT copied"
        return text

    def failure_text(self) -> str:
        if self.needs_operator:  # one line that says what to do first; the counts follow
            counts = f"{self.failed} failed" + (f", {self.not_attempted} not attempted" if self.not_attempted else "")
            return f"{self.stopped} ({counts})"
        text = super().failure_text() if self.failed else ""
        if self.not_attempted:
            text += ("; " if text else "") + (
                f"{self.not_attempted} instance(s) not attempted after a server stopped answering; "
                "a rerun copies what is still missing"
            )
        return text


@dataclass
class TagsSummary(JobSummary):
    """What one tags run did.

    ``incomplete_reports`` counts dose reports that hold less than they should (fewer events than
    they declare, a file cut short): their records were sent, but the task fails as it does for a
    failed instance, and every rerun counts them again until the report is whole.
    """

    candidates: int = 0
    already_indexed: int = 0
    to_send: int = 0
    sent: int = 0
    dose_reports: int = 0
    irradiation_events: int = 0
    events_sent: int = 0
    incomplete_reports: int = 0

    COUNTS: ClassVar[tuple[str, ...]] = (
        "candidates", "already_indexed", "to_send", "sent", "dose_reports", "irradiation_events",
        "events_sent", "failed", "vanished", "incomplete_reports",
    )
    DONE: ClassVar[str] = "sent"

    @property
    def incomplete(self) -> bool:
        """A failed instance or an incomplete dose report: the task fails."""
        return bool(self.failed or self.incomplete_reports)

    def record_incomplete(self, instance_id: str, reason: str) -> None:
        self.incomplete_reports += 1
        if len(self.failures) < MAX_REPORTED_FAILURES:
            self.failures.append([instance_id, f"incomplete dose report: {reason}"])

    def failure_text(self) -> str:
        listed = "; ".join(f"{instance}: {reason}" for instance, reason in self.failures)
        counts = [f"{self.failed} instance(s) failed"] if self.failed else []
        if self.incomplete_reports:
            counts.append(f"{self.incomplete_reports} dose report(s) incomplete")
        more = self.failed + self.incomplete_reports - len(self.failures)
        return f"{', '.join(counts)}: {listed}" + (f" (and {more} more)" if more > 0 else "")

    def label(self) -> str:
        done = f"would send {self.to_send}" if self.dry_run else f"sent {self.sent}"
        text = f"{done}, {self.already_indexed} indexed" + (f", {self.failed} failed" if self.failed else "")
        return text + (f", {self.incomplete_reports} incomplete" if self.incomplete_reports else "")

    def line(self) -> str:
        """The totals first (a log view cuts long lines at the right), then the details."""
        done = f"would send {self.to_send}" if self.dry_run else f"sent {self.sent}"
        incomplete = f", {self.incomplete_reports} incomplete dose reports" if self.incomplete_reports else ""
        text = (
            f"{done} instances, {self.already_indexed} already indexed, {self.failed} failed{incomplete} "
            f"({self.dose_reports} dose reports, {self.irradiation_events} irradiation events, "
            f"{self.events_sent} events) of {self.candidates} candidates in {self.seconds:.1f} s "
            f"({self.instances_per_second} instances/s)"
        )
        return text + (f", {self.vanished} no longer on the source" if self.vanished else "")


class Progress:
    """Thread-safe counter that logs done, failed and skipped against the total every ``interval`` seconds.

    The percentage is of ``total`` *done* (copied, sent), never of what was merely handled, so a run
    whose instances fail never shows 100%.
    """

    def __init__(self, total: int, label: str = "copied", interval: float = 5.0, logger: logging.Logger = log):
        self.total = total
        self.label = label
        self.interval = interval
        self.logger = logger
        self.done = 0
        self.failed = 0
        self.skipped = 0
        self.bytes = 0
        self.started = time.monotonic()
        self._last_report = self.started
        self._lock = threading.Lock()
        self._bar = _terminal_bar(total, label)

    def advance(self, count: int = 1, size: int = 0, *, failed: int = 0, skipped: int = 0) -> None:
        """``count`` done, ``failed`` attempted in vain, ``skipped`` not attempted."""
        with self._lock:
            self.done += count
            self.failed += failed
            self.skipped += skipped
            self.bytes += size
            if self._bar is not None:
                self._bar.update(count + failed + skipped)
                return
            now = time.monotonic()
            if now - self._last_report >= self.interval:
                self._last_report = now
                self.logger.info("%s", self.status(now))

    def status(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.started, 1e-6)
        handled = self.done + self.failed + self.skipped
        rate = handled / elapsed
        remaining = (self.total - handled) / rate if rate > 0 else float("inf")
        eta = f"{remaining:.0f} s" if remaining != float("inf") else "unknown"
        percent = 100 * self.done / self.total if self.total else 100
        text = f"progress: {self.label} {self.done}/{self.total} ({percent:.0f}%)"
        if self.failed:
            text += f", failed {self.failed}"
        if self.skipped:
            text += f", not attempted {self.skipped}"
        return (
            f"{text}, {self.done / elapsed:.1f} instances/s, {self.bytes / elapsed / 1e6:.1f} MB/s, "
            f"ETA {eta if handled < self.total else 'done'}"
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.total:
            self.logger.info("%s", self.status())


def _terminal_bar(total: int, label: str):
    if not sys.stderr.isatty() or total == 0:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=label, unit="inst", leave=False)
