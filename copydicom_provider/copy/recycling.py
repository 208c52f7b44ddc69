"""Storage recycling: what a destination deleted to make room while a batch copied, found and counted.

Why: a destination with ``MaximumStorageSize`` or ``MaximumPatientCount`` (and recycling, Orthanc's
default when the quota is reached) deletes its oldest patients to store new ones. The plan of a rerun
counts as already present what the batch's own copies then push out, so a run would report "300
copied, 300 already present" for a destination holding 300, and end green. So each batch that copies
notes the destination's instance count and change-log position first; afterwards
``before + new instances still logged - after`` is how many older instances it deleted meanwhile
(Orthanc drops a deleted instance's changes from its log). Only when that is above zero is the plan's
"already present" asked again, and what is gone is counted as failed with the reason.

The batch's own copies are checked alike (:func:`check_kept`): what the destination accepted and no
longer holds at the end (recycled, or dropped by a filter) counts as failed, not as copied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from copydicom_provider.copy.change_log import last_seq, new_instances_since
from copydicom_provider.copy.loose import held_by
from copydicom_provider.copy.plan import CopyPlan
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.summary import ReplicationSummary

RECYCLED = ("the destination deleted it to make room for newer copies (storage recycling: MaximumStorageSize/"
            "MaximumPatientCount): it holds it no more; raise its quota, or protect what it must keep")
NOT_KEPT = ("the destination accepted it but no longer holds it: its storage recycles "
            "(MaximumStorageSize/MaximumPatientCount) or a filter drops it")


@dataclass(frozen=True)
class StorageMark:
    """The destination before a batch: its instance count and the newest change."""

    instances: int
    seq: int


def mark(destination: OrthancHook) -> StorageMark | None:
    try:
        return StorageMark(destination.instance_count(), last_seq(destination))
    except OrthancError:
        return None  # the copy will say what is wrong


def deleted_since(destination: OrthancHook, before: StorageMark) -> int:
    """How many instances it held before the batch that it no longer holds."""
    now = destination.instance_count()
    return before.instances + len(new_instances_since(destination, before.seq)) - now


def count_recycled(destination: OrthancHook, before: StorageMark | None, plan: CopyPlan,
                   replan: Callable[[], CopyPlan], summary: ReplicationSummary, logger: logging.Logger) -> None:
    """After a batch that copied: what the plan found present and the destination deleted meanwhile is
    taken out of ``already_present`` and counted as failed."""
    if before is None or not summary.copied:
        return
    try:
        if deleted_since(destination, before) <= 0:
            return
        planned = set(plan.missing) | set(plan.updates)
        gone = [i for i in replan().missing if i not in planned]
    except OrthancError as error:
        logger.warning("could not check whether %s deleted what it held (storage recycling): %s",
                       destination.url, error)
        return
    for instance_id in gone:
        summary.already_present -= 1
        summary.record_failure(instance_id, RECYCLED)
    if gone:
        logger.warning("%d instance(s) %s held before this batch were deleted to make room for its copies "
                       "(storage recycling): counted as failed, not as present", len(gone), destination.url)


def check_kept(destination: OrthancHook, copied: list[str], mark: int, summary: ReplicationSummary,
               logger: logging.Logger) -> None:
    """Count as failed what the destination accepted but no longer holds (storage recycling, a filter).

    Orthanc drops a deleted instance's changes from its log, so one read of the log since the batch
    began finds them; only instances missing from it are looked up.
    """
    try:
        landed = new_instances_since(destination, mark)
        suspects = [i for i in copied if i not in landed]
        held = held_by(destination, suspects)
        gone = [i for i in suspects if i not in held]
    except OrthancError as error:
        logger.warning("could not check that the destination kept what it accepted: %s", error)
        return
    for instance_id in gone:
        summary.copied -= 1
        summary.record_failure(instance_id, NOT_KEPT)
    if gone:
        logger.warning("%d instance(s) accepted by %s were no longer there at the end of the batch: the destination "
                       "does not keep what it receives (storage recycling or a filter); a rerun will send them again",
                       len(gone), destination.url)
