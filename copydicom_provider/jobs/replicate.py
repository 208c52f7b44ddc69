"""Replicate: copy every candidate instance the destination lacks. The library's entry point.

The operator, the DAG's mapped tasks and the CLI all call :func:`copy_candidates`; the library call
:func:`replicate` is enumerate + copy in one process::

    from copydicom_provider import replicate
    summary = replicate("http://orthanc:orthanc@pacs:8042", "http://orthanc:orthanc@research:8042")
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime
from typing import TYPE_CHECKING, TypedDict

from airflow.exceptions import AirflowException

from copydicom_provider.copy import recycling
from copydicom_provider.copy.batch import CopyBatch
from copydicom_provider.copy.modes import TRANSFER_MODES  # also imported from here
from copydicom_provider.copy.peer import copy_peer
from copydicom_provider.copy.plan import CopyPlan, plan_anonymized, plan_copy
from copydicom_provider.copy.push_job import DEFAULT_PEER_JOB_TIMEOUT
from copydicom_provider.copy.rest import copy_rest
from copydicom_provider.copy.temporary_peer import remove_stale_peers
from copydicom_provider.deid import AnonymizationProfile
from copydicom_provider.errors import JobFailed
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.candidates import Candidates, Window, enumerate_candidates
from copydicom_provider.jobs.summary import Progress, ReplicationSummary, log

if TYPE_CHECKING:
    pass


class ReplicationFailed(JobFailed, AirflowException):
    """Some instances could not be copied; carries the summary (what did get copied stays copied)."""

    summary: ReplicationSummary


def as_hook(server: OrthancHook | str) -> OrthancHook:
    """Accept a hook or an ``http://user:password@host:port`` URL."""
    return server if isinstance(server, OrthancHook) else OrthancHook.from_url(server)


class CopyOptions(TypedDict, total=False):
    """How a copy runs: the options of :func:`copy_candidates`, passed on unchanged by the jobs that copy."""

    mode: str
    dry_run: bool
    verify: bool
    anonymize: AnonymizationProfile | None
    progress_interval: float
    logger: logging.Logger
    peer_job_timeout: float


def copy_candidates(
    source: OrthancHook,
    destination: OrthancHook,
    candidates: Candidates,
    *,
    mode: str = "rest",
    dry_run: bool = False,
    verify: bool = False,
    anonymize: AnonymizationProfile | None = None,
    progress_interval: float = 5.0,
    logger: logging.Logger = log,
    peer_job_timeout: float = DEFAULT_PEER_JOB_TIMEOUT,
) -> ReplicationSummary:
    """Copy what the destination lacks among ``candidates``; never raises for a single instance.

    Loose candidate instances (a received window, a selection) that the destination holds with
    another MD5 are corrections and replace the destination's copy (``updated``); with ``verify``
    the instances of candidate studies are compared too, and every copy's MD5 is checked.
    With ``anonymize``, the destination receives de-identified copies instead (rest mode); what
    may carry burned-in text is withheld (counted, with the reason).
    """
    if mode not in TRANSFER_MODES:
        raise ValueError(f"Unknown transfer mode {mode!r}: use one of {', '.join(TRANSFER_MODES)}")
    if anonymize is not None and mode != "rest":
        raise ValueError("anonymize works with mode 'rest': the worker de-identifies each instance before the upload")
    if source.url == destination.url:
        raise ValueError(f"The source and the destination are the same server ({source.url}): nothing to copy")
    source.with_role("source")
    destination.with_role("destination")
    started = time.monotonic()
    if mode == "peer" and not dry_run:
        remove_stale_peers(source, peer_job_timeout, logger)  # left by a worker that was killed

    def make_plan() -> CopyPlan:
        if anonymize is not None:
            return plan_anonymized(source, destination, candidates, anonymize)
        return plan_copy(source, destination, candidates, compare_content=verify)

    plan = make_plan()
    summary = ReplicationSummary(
        mode=mode,
        dry_run=dry_run,
        candidates=plan.candidates,
        already_present=plan.already_present,
        vanished=len(plan.vanished),
        to_copy=len(plan.missing),
        to_update=len(plan.updates),
    )
    for reason in plan.withheld.values():
        summary.record_withheld(reason)
    logger.info(
        "plan: %d candidate instances, %d already on %s, %d to copy%s%s",
        plan.candidates, plan.already_present, destination.url, len(plan.missing),
        f", {len(plan.updates)} corrected on the source to update" if plan.updates else "",
        " (dry run: nothing is copied)" if dry_run else "",
    )
    work = len(plan.missing) + len(plan.updates)
    if work and not dry_run:
        progress = Progress(work, interval=progress_interval, logger=logger)
        before = recycling.mark(destination)
        try:
            batch = CopyBatch(source, destination, plan, summary, progress, verify, logger)
            if mode == "rest":
                copy_rest(batch)
            else:
                copy_peer(batch, peer_job_timeout)
        finally:
            progress.close()
        recycling.count_recycled(destination, before, plan, make_plan, summary, logger)
    summary.seconds = time.monotonic() - started
    return summary


def replicate(
    source: OrthancHook | str,
    destination: OrthancHook | str,
    window: Window | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    study_date: tuple[date | None, date | None] | None = None,
    mode: str = "rest",
    dry_run: bool = False,
    verify: bool = False,
    raise_on_failure: bool = True,
) -> ReplicationSummary:
    """Copy every instance of the window that the destination lacks; returns the summary.

    Without a window: ``since``/``until`` give a received window, ``study_date`` a study-date
    window, and neither means everything. Raises :class:`ReplicationFailed` (with the summary)
    when an instance failed, unless ``raise_on_failure`` is false.
    """
    source_hook, destination_hook = as_hook(source), as_hook(destination)
    window = window or window_from_options(since, until, study_date)
    log.info("replicate %s from %s to %s (mode %s)", window.describe(), source_hook.url, destination_hook.url, mode)
    candidates = enumerate_candidates(source_hook, window)
    summary = copy_candidates(source_hook, destination_hook, candidates, mode=mode, dry_run=dry_run, verify=verify)
    log.info("summary: %s", summary.line())
    if summary.incomplete and not dry_run and raise_on_failure:
        raise ReplicationFailed(summary)
    return summary


def window_from_options(
    since: datetime | None, until: datetime | None, study_date: tuple[date | None, date | None] | None
) -> Window:
    if study_date is not None:
        if since or until:
            raise ValueError("Choose a received window (since/until) or a study-date window, not both")
        return Window.study_date(*study_date)
    if since or until:
        return Window.received(since, until)
    return Window.everything()
