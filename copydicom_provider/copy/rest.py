"""Rest mode: the worker streams each planned instance from the source to the destination.

``max_parallel`` uploads run at once on each server (:func:`copydicom_provider.copy.parallel.copy_threads`).
One bad instance never stops the others; a server away or full stops the batch
(:class:`copydicom_provider.copy.failure_gate.FailureGate`). An upload whose reply was lost is asked of
the destination at the end (:mod:`copydicom_provider.copy.arrivals`), and what the destination accepted
is checked to be still there (:func:`copydicom_provider.copy.recycling.check_kept`).
"""

from __future__ import annotations

import logging
import threading

from copydicom_provider.copy import arrivals
from copydicom_provider.copy.batch import CopyBatch
from copydicom_provider.copy.change_log import last_seq
from copydicom_provider.copy.failure_gate import FailureGate
from copydicom_provider.copy.outcome import Outcome, count
from copydicom_provider.copy.parallel import copy_threads, parallel_map
from copydicom_provider.copy.plan import CopyPlan
from copydicom_provider.copy.recycling import check_kept
from copydicom_provider.copy.send import (
    InstanceVanished,
    NotAttempted,
    replace_instance,
    send_instance,
    verify_instance,
)
from copydicom_provider.deid import CannotDeidentify
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.summary import Progress, ReplicationSummary


def copy_rest(batch: CopyBatch) -> None:
    """The worker streams each planned instance (missing ones, then corrections)."""
    source, destination, plan, verify = batch.source, batch.destination, batch.plan, batch.verify
    summary, progress, logger = batch.summary, batch.progress, batch.logger
    sending = _RestBatch(source, destination, plan, verify)
    try:
        mark: int | None = last_seq(destination)
    except OrthancError:
        mark = None  # the copy itself will say what is wrong

    def one(instance_id: str) -> None:
        sending.settle(instance_id, sending.send(instance_id), summary, progress, logger)

    for _ in parallel_map(one, [*plan.missing, *plan.updates], copy_threads(source, destination)):
        pass
    copied = sending.copied
    if sending.unanswered:
        copied += _confirm_unanswered(destination, sending.unanswered, plan.targets, summary, logger)
    gate = sending.gate
    if gate.tripped:
        summary.stopped = gate.reason
        summary.needs_operator = gate.needs_operator
        logger.error("stopped early: %s", gate.reason)
    elif mark is not None and copied:
        check_kept(destination, copied, mark, summary, logger)


class _RestBatch:
    """One rest batch's shared state: its failure gate, and what its threads have sent so far."""

    def __init__(self, source: OrthancHook, destination: OrthancHook, plan: CopyPlan, verify: bool) -> None:
        self.source, self.destination, self.plan, self.verify = source, destination, plan, verify
        self.gate = FailureGate(source, destination)
        self.updates = set(plan.updates)
        self.copied: list[str] = []  # IDs on the destination of what it stored
        self.unanswered: dict[str, str] = {}  # sent, but the destination's reply was lost: asked again at the end
        self._lock = threading.Lock()

    def send(self, instance_id: str) -> Outcome:
        """Send one instance (a correction replaces the destination's copy); never raises for it."""
        if not self.gate.wait():
            return Outcome("skipped")
        size = 0
        try:
            if instance_id in self.updates:
                outcome = Outcome("updated", replace_instance(self.source, self.destination, instance_id))
            else:
                profile = self.plan.anonymize.get(instance_id)
                size, status = send_instance(
                    self.source, self.destination, instance_id,
                    anonymize=profile, expected_id=self.plan.targets.get(instance_id), proceed=self.gate.wait,
                )
                verified = self.verify and profile is None  # an anonymized copy differs by design
                if verified:
                    verify_instance(self.source, self.destination, instance_id)
                outcome = Outcome("copied" if status == "Success" else "already", size, verified=verified)
            self.gate.record(None)
            return outcome
        except InstanceVanished:
            return Outcome("vanished", size)
        except NotAttempted:
            return Outcome("skipped", size)
        except CannotDeidentify as error:
            return Outcome("withheld", size, str(error))
        except OrthancError as error:
            self.gate.record(error)
            lost = instance_id not in self.updates and arrivals.reply_lost(error, self.destination)
            return Outcome("unanswered" if lost else "failed", size, str(error))

    def settle(self, instance_id: str, outcome: Outcome, summary: ReplicationSummary, progress: Progress,
               logger: logging.Logger) -> None:
        """Count one instance's outcome (an unanswered one is kept to be asked of the destination)."""
        with self._lock:
            if outcome.kind == "unanswered":
                self.unanswered[instance_id] = outcome.reason
            else:
                count(summary, instance_id, outcome, logger)
            if outcome.kind == "copied":
                self.copied.append(self.plan.targets.get(instance_id, instance_id))
        outcome.advance(progress)


def _confirm_unanswered(destination: OrthancHook, unanswered: dict[str, str], targets: dict[str, str],
                        summary: ReplicationSummary, logger: logging.Logger) -> list[str]:
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
