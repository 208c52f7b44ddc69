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
    def instances_per_second(self) -> float:
        done = getattr(self, self.DONE)
        return round(done / self.seconds, 1) if self.seconds > 0 else 0.0

    def record_failure(self, instance_id: str, reason: str) -> None:
        self.failed += 1
        if len(self.failures) < MAX_REPORTED_FAILURES:
            self.failures.append([instance_id, reason])

    def merge(self, other: JobSummary) -> JobSummary:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
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

    def failure_text(self) -> str:
        listed = "; ".join(f"{instance}: {reason}" for instance, reason in self.failures)
        more = self.failed - len(self.failures)
        return f"{self.failed} instance(s) failed: {listed}" + (f" (and {more} more)" if more > 0 else "")


@dataclass
class ReplicationSummary(JobSummary):
    """What one copy did."""

    mode: str = "rest"
    candidates: int = 0
    already_present: int = 0
    to_copy: int = 0
    copied: int = 0
    bytes: int = 0
    #: not sent de-identified because they may carry burned-in text; reason -> count
    withheld: int = 0
    withheld_reasons: dict[str, int] = field(default_factory=dict)

    COUNTS: ClassVar[tuple[str, ...]] = (
        "candidates", "already_present", "to_copy", "copied", "failed", "vanished", "bytes", "withheld",
    )
    DONE: ClassVar[str] = "copied"

    def record_withheld(self, reason: str) -> None:
        self.withheld += 1
        self.withheld_reasons[reason] = self.withheld_reasons.get(reason, 0) + 1

    def merge(self, other: JobSummary) -> JobSummary:
        super().merge(other)
        for reason, count in getattr(other, "withheld_reasons", {}).items():
            self.withheld_reasons[reason] = self.withheld_reasons.get(reason, 0) + count
        return self

    def line(self) -> str:
        done = f"would copy {self.to_copy}" if self.dry_run else f"copied {self.copied}"
        text = (
            f"{self.candidates} candidates, {self.already_present} already present, "
            f"{done} ({self.bytes / 1e6:.1f} MB) in {self.seconds:.1f} s "
            f"({self.instances_per_second} instances/s, mode {self.mode}), {self.failed} failed"
        )
        if self.vanished:
            text += f", {self.vanished} no longer on the source"
        if self.withheld:
            reasons = "; ".join(f"{count} {reason}" for reason, count in sorted(self.withheld_reasons.items()))
            text += f", {self.withheld} withheld from de-identification ({reasons})"
        return text


class Progress:
    """Thread-safe counter that logs ``done/total, rate, ETA`` every ``interval`` seconds."""

    def __init__(self, total: int, label: str = "copied", interval: float = 5.0, logger: logging.Logger = log):
        self.total = total
        self.label = label
        self.interval = interval
        self.logger = logger
        self.done = 0
        self.bytes = 0
        self.started = time.monotonic()
        self._last_report = self.started
        self._lock = threading.Lock()
        self._bar = _terminal_bar(total, label)

    def advance(self, count: int = 1, size: int = 0) -> None:
        with self._lock:
            self.done += count
            self.bytes += size
            if self._bar is not None:
                self._bar.update(count)
                return
            now = time.monotonic()
            if now - self._last_report >= self.interval:
                self._last_report = now
                self.logger.info("%s", self.status(now))

    def status(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.started, 1e-6)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = f"{remaining:.0f} s" if remaining != float("inf") else "unknown"
        percent = 100 * self.done / self.total if self.total else 100
        return (
            f"progress: {self.label} {self.done}/{self.total} ({percent:.0f}%), {rate:.1f} instances/s, "
            f"{self.bytes / elapsed / 1e6:.1f} MB/s, ETA {eta}"
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
