"""Conditional replicate: copy only what a Splunk search selects, through the replicate core.

The index holds the records written by replicate-tags, each carrying the Orthanc IDs of its
instance, series and study. A query such as ``SeriesDescription="Dose Record"`` selects records;
their most specific ID is taken (an instance ID, else a series expanded to its instances, else a
whole study) and the same planner and transfer as replicate copy what the destination lacks.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from copydicom_provider.deid import AnonymizationProfile
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.splunk import SplunkHook
from copydicom_provider.jobs.candidates import Candidates
from copydicom_provider.jobs.replicate import CopyOptions, ReplicationFailed, as_hook, copy_candidates
from copydicom_provider.jobs.summary import ReplicationSummary, log

if TYPE_CHECKING:
    from typing_extensions import Unpack

ID_FIELDS = ("OrthancInstanceID", "OrthancSeriesID", "OrthancStudyID")


@dataclass(frozen=True)
class IndexWindow:
    """What Splunk indexed in ``[start, end]`` (its ``_indextime``, whole epoch seconds): an incremental run's scope."""

    start: float
    end: float

    def params(self) -> dict[str, str]:
        """Splunk's search-job parameters for index-time bounds."""
        return {"index_earliest": str(math.floor(self.start)), "index_latest": str(math.floor(self.end) + 1)}

    def describe(self) -> str:
        as_text = lambda t: datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")  # noqa: E731
        return f"from {as_text(self.start)} to {as_text(self.end)}"


class UnsafeQuery(ValueError):
    """A bare filter that tries to be more than a filter (pipe, subsearch, scope escape)."""


#: Fields that set where or when a search looks: a bare filter may not touch them.
SCOPE_FIELDS = ("index", "splunk_server", "splunk_server_group", "earliest", "latest", "_index_earliest",
                "_index_latest", "indexes")
SCOPE_TERM = re.compile(rf"(?<![\w.])({'|'.join(SCOPE_FIELDS)})\s*(=|!=|::|<|>)", re.IGNORECASE)
INDEX_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,79}$")


def selection_spl(query: str | None, index: str | None = None, spl: str | None = None) -> str:
    """The search to run: a bare filter, scoped to the (quoted) index and parenthesised; or trusted full SPL.

    ``query`` is a filter only (``SeriesDescription="Dose Record" Modality=SR``): a pipe, a
    subsearch bracket, a macro, unbalanced parentheses or quotes, or a scope field (``index=``,
    ``earliest=``, ...) is refused with :class:`UnsafeQuery`. ``spl`` is full SPL run as given
    (``search ...`` or ``| ...``): trusted input, for operators who write searches themselves.
    """
    if spl is not None and " ".join(spl.split()):
        if query and " ".join(query.split()):
            raise ValueError("Give either a filter (query) or full SPL (spl), not both")
        text = " ".join(spl.split())
        return text if text.startswith("|") or text.lower().startswith("search ") else f"search {text}"
    text = " ".join((query or "").split())
    if not text:
        raise ValueError("The selection query is empty: give an SPL filter such as SeriesDescription=\"Dose Record\"")
    check_filter(text)
    if index is not None and not INDEX_NAME.match(index):
        raise ValueError("The Splunk index name may hold only letters, digits, '_' and '-'")
    scope = f'index="{index}" ' if index else ""
    return f"search {scope}({text}) | fields {', '.join(ID_FIELDS)}"


def check_filter(text: str) -> None:
    """Refuse what would make a filter more than a filter; the message says what and where."""
    unquoted, depth, quote = [], 0, False
    escaped = False
    for position, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quote = False
            unquoted.append(" ")
            continue
        if char == '"':
            quote = True
            unquoted.append(" ")
            continue
        if char in "|[]`":
            what = {"|": "a pipe '|'", "[": "a subsearch bracket '['", "]": "a subsearch bracket ']'",
                    "`": "a macro '`'"}
            raise UnsafeQuery(f"The filter may not contain {what[char]} (at character {position + 1}); "
                              "full SPL goes in the separate, trusted 'spl' parameter")
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise UnsafeQuery(f"The filter closes a parenthesis it did not open (at character {position + 1})")
        unquoted.append(char)
    if quote:
        raise UnsafeQuery("The filter has an unterminated quoted string")
    if depth:
        raise UnsafeQuery("The filter leaves a parenthesis open")
    if match := SCOPE_TERM.search("".join(unquoted)):
        raise UnsafeQuery(f"The filter may not set {match.group(1).lower()}=: the index and time window are set by the "
                          "operator's parameters, not by the filter")


def _values(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def select_candidates(
    source: OrthancHook,
    splunk: SplunkHook,
    query: str | None,
    earliest: datetime | str | None = None,
    latest: datetime | str | None = None,
    index: str | None = None,
    logger: logging.Logger = log,
    *,
    spl: str | None = None,
    indexed: IndexWindow | None = None,
) -> tuple[Candidates, int]:
    """Run the search; returns the candidates and how many selected series the source no longer has.

    ``indexed`` limits the search to what Splunk indexed in that window (``_indextime``), for
    incremental runs; ``earliest``/``latest`` bound ``_time`` (the study date) as before.
    """
    instances: dict[str, None] = {}
    series: dict[str, None] = {}
    studies: dict[str, None] = {}
    rows = 0
    search = selection_spl(query, index or splunk.settings.index, spl)
    params = indexed.params() if indexed else None
    if indexed:
        logger.info("selection: only what Splunk indexed %s", indexed.describe())
    for row in splunk.search(search, earliest, latest, params=params, complete=True):  # never a partial selection
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
    query: str | None,
    *,
    earliest: datetime | str | None = None,
    latest: datetime | str | None = None,
    index: str | None = None,
    spl: str | None = None,
    indexed: IndexWindow | None = None,
    **options: Unpack[CopyOptions],
) -> ReplicationSummary:
    """Select with the search, copy what the destination lacks; per-instance failures stay in the summary.

    ``options`` are :func:`~copydicom_provider.jobs.replicate.copy_candidates`' (mode, dry run, verify, ...).

    A query Splunk rejects raises ``SplunkSearchError`` with Splunk's message; a query that selects
    nothing gives a summary of nothing copied. An answer Splunk marks partial (a search peer down)
    raises ``SplunkSearchIncomplete`` before anything is copied: an asset-triggered run searches only
    what was indexed since the last one, so a partial selection would miss instances for good.
    """
    logger = options.get("logger", log)
    candidates, missing_series = select_candidates(
        source, splunk, query, earliest, latest, index, logger=logger, spl=spl, indexed=indexed,
    )
    if not candidates:
        logger.info("the search selected no instances: nothing to copy")
    summary = copy_candidates(source, destination, candidates, **options)
    summary.vanished += missing_series
    return summary


def conditional_replicate(
    source: OrthancHook | str,
    index: SplunkHook | str,
    destination: OrthancHook | str,
    query: str | None = None,
    *,
    spl: str | None = None,
    indexed: IndexWindow | None = None,
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
        mode=mode, dry_run=dry_run, verify=verify, anonymize=anonymize, spl=spl, indexed=indexed,
    )
    log.info("summary: %s", summary.line())
    if summary.failed and not dry_run and raise_on_failure:
        raise ReplicationFailed(summary)
    return summary
