"""One batch of a copy, as both modes take it: who sends to whom, what, and where the counts go."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from copydicom_provider.copy.plan import CopyPlan
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.summary import Progress, ReplicationSummary, log


@dataclass(frozen=True)
class CopyBatch:
    """What :func:`~copydicom_provider.copy.rest.copy_rest` and :func:`~copydicom_provider.copy.peer.copy_peer`
    share: the servers, the plan, the summary and progress they count into, and whether to verify each copy."""

    source: OrthancHook
    destination: OrthancHook
    plan: CopyPlan
    summary: ReplicationSummary
    progress: Progress
    verify: bool = False
    logger: logging.Logger = log
