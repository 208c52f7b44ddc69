"""Conditional replicate: copy only what a Splunk search selects, through the replicate core.

The index holds the records written by replicate-tags, each carrying the Orthanc IDs of its
instance, series and study. A query such as ``SeriesDescription="Dose Record"`` selects records;
their most specific ID is taken (an instance ID, else a series expanded to its instances, else a
whole study) and the same planner and transfer as replicate copy what the destination lacks.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from copydicom_provider.core.anonymize import AnonymizationProfile
from copydicom_provider.core.progress import ReplicationSummary, log
from copydicom_provider.core.replication import ReplicationFailed, as_hook, copy_candidates
from copydicom_provider.core.window import Candidates
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.splunk import SplunkHook

ID_FIELDS = ("OrthancInstanceID", "OrthancSeriesID", "OrthancStudyID")


def selection_spl(query: str, index: str | None = None) -> str:
    """A bare filter gets the index and the ID fields; full SPL (``search ...``, ``| ...``) runs as given."""
    text = " ".join(query.split())
    if not text:
        raise ValueError("The selection query is empty: give an SPL filter such as SeriesDescription=\"Dose Record\"")
    if text.startswith("|") or text.lower().startswith("search "):
        return text
    scope = f"index={index} " if index else ""
    return f"search {scope}{text} | fields {', '.join(ID_FIELDS)}"


def _values(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def select_candidates(
    source: OrthancHook,
    splunk: SplunkHook,
    query: str,
    earliest: datetime | str | None = None,
    latest: datetime | str | None = None,
    index: str | None = None,
    logger: logging.Logger = log,
) -> tuple[Candidates, int]:
    """Run the search; returns the candidates and how many selected series the source no longer has."""
    instances: dict[str, None] = {}
    series: dict[str, None] = {}
    studies: dict[str, None] = {}
    rows = 0
    for row in splunk.search(selection_spl(query, index or splunk.settings.index), earliest, latest):
        rows += 1
        if ids := _values(row.get("OrthancInstanceID")):
            instances.update(dict.fromkeys(ids))
        elif ids := _values(row.get("OrthancSeriesID")):
            series.update(dict.fromkeys(ids))
        else:
            studies.update(dict.fromkeys(_values(row.get("OrthancStudyID"))))
    missing_series = 0
    for series_id in series:
        members = source.series_instance_ids(series_id)
        if members is None:
            missing_series += 1
        else:
            instances.update(dict.fromkeys(members))
    logger.info(
        "selection: %d search results -> %d instances, %d series, %d studies%s",
        rows, len(instances), len(series), len(studies),
        f" ({missing_series} series no longer on the source)" if missing_series else "",
    )
    return Candidates(studies=list(studies), instances=list(instances)), missing_series


def copy_selection(
    source: OrthancHook,
    splunk: SplunkHook,
    destination: OrthancHook,
    query: str,
    *,
    earliest: datetime | str | None = None,
    latest: datetime | str | None = None,
    index: str | None = None,
    mode: str = "rest",
    dry_run: bool = False,
    verify: bool = False,
    anonymize: AnonymizationProfile | None = None,
    progress_interval: float = 5.0,
    logger: logging.Logger = log,
) -> ReplicationSummary:
    """Select with the search, copy what the destination lacks; per-instance failures stay in the summary.

    A query Splunk rejects raises ``SplunkSearchError`` with Splunk's message; a query that selects
    nothing gives a summary of nothing copied.
    """
    candidates, missing_series = select_candidates(source, splunk, query, earliest, latest, index, logger=logger)
    if not candidates:
        logger.info("the search selected no instances: nothing to copy")
    summary = copy_candidates(
        source, destination, candidates, mode=mode, dry_run=dry_run, verify=verify, anonymize=anonymize,
        progress_interval=progress_interval, logger=logger,
    )
    summary.vanished += missing_series
    return summary


def conditional_replicate(
    source: OrthancHook | str,
    index: SplunkHook | str,
    destination: OrthancHook | str,
    query: str,
    *,
    earliest: datetime | str | None = None,
    latest: datetime | str | None = None,
    mode: str = "rest",
    dry_run: bool = False,
    verify: bool = False,
    anonymize: AnonymizationProfile | None = None,
    raise_on_failure: bool = True,
) -> ReplicationSummary:
    """The library call: :func:`copy_selection` from hooks or URLs, raising when instances failed.

    Raises :class:`ReplicationFailed` (with the summary) when an instance failed, unless
    ``raise_on_failure`` is false.
    """
    splunk = index if isinstance(index, SplunkHook) else SplunkHook.from_url(index)
    summary = copy_selection(
        as_hook(source), splunk, as_hook(destination), query, earliest=earliest, latest=latest,
        mode=mode, dry_run=dry_run, verify=verify, anonymize=anonymize,
    )
    log.info("summary: %s", summary.line())
    if summary.failed and not dry_run and raise_on_failure:
        raise ReplicationFailed(summary)
    return summary
