"""Replicate tags: index every candidate instance's tags (and dose reports, flat) in Splunk, once.

The operator, the DAG's mapped tasks and the CLI all call :func:`index_candidates`; the library
call :func:`replicate_tags` is enumerate + index in one process::

    from copydicom_provider.jobs.replicate_tags import replicate_tags
    summary = replicate_tags("http://orthanc:orthanc@pacs:8042",
                             "https://admin:pw@splunk:8089?hec_token=T&index=dicom")

Non-duplicate: Splunk has no uniqueness check at ingest, so before sending, each chunk of
candidates asks the index which of its instances it already holds and only the others are read
and sent. Every record's ``RecordKey`` is also sent as the indexed field ``copydicom_key``, and the
check is ``| tstats count where index=... copydicom_key IN ("<id>:instance", ...) by copydicom_key``
over all time: tstats reads the indexed field from the index's lexicon, so a no-op rerun costs the
same whether the index holds this run's events or years of others, and the check depends neither on
the sourcetype's search-time extraction nor on ``fields.conf``. Without a configured index, events
go to the HEC token's default index and the check searches every index the role may search. An instance's dose
records go before its instance record, and dose records whose ``RecordKey`` is already indexed
(a send cut short earlier) are not sent again. Caveat: Splunk makes events searchable a few seconds
after HEC accepts them (with ``ack`` on, only once indexed); two runs over the same instances
within those seconds can both send.

Exactly once within a send: every envelope goes with ``dedupe_field=copydicom_key``, so when a HEC
reply is lost (read timeout, connection dropped, a 5xx other than "busy") the hook asks the index
which keys of that batch it holds, for up to the connection's ``settle_delay``, and resends only the
others (see :meth:`SplunkHook.send_envelopes`). A 200 whose body is not Splunk's success reply
(a proxy's login page, a loose ``{"code":0}``) is settled the same way.

``verify``: after sending, every record key of the run is asked of the index (within
``settle_delay``); what it lacks is sent once more, and what it still lacks fails its instance
(:mod:`.tags_verify`). That catches what no reply can show: something answering success for HEC
without storing. A duplicate check whose answer Splunk marks partial (a search peer down) fails the
run without sending: a partial answer would call held records missing and send them twice.

One unreadable instance (a file that is not DICOM, an Orthanc error, an event HEC refuses as
malformed) is counted in ``failed`` with its reason and skipped; the rest are indexed. A dose report
with items that cannot be read is not a failure: those items are named in ``ParseWarnings``. A dose
report that holds less than it should (fewer events than it declares, a file cut short; see
:mod:`copydicom_provider.records.completeness`) is counted in ``incomplete_reports`` and fails the task
like a failed instance: its dose records are sent (once: a rerun finds them indexed), its instance
record is not, so every rerun reads it again and fails again until the report is whole. A Splunk
or Orthanc outage raises: the task fails and its retry sends only what is still missing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

from airflow.exceptions import AirflowException

from copydicom_provider.copy.parallel import parallel_map, workers_for
from copydicom_provider.errors import JobFailed, ServerUnreachable, raised_name
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.splunk import RETRYABLE_STATUS, SplunkHecError, SplunkHook
from copydicom_provider.jobs.candidates import Candidates, Window, enumerate_candidates
from copydicom_provider.jobs.replicate import as_hook, window_from_options
from copydicom_provider.jobs.replicate_tags_verify import SentRecords, verify_sent
from copydicom_provider.jobs.summary import Progress, TagsSummary, log
from copydicom_provider.records.fetch import RecordError, instances_metadata
from copydicom_provider.records.instance import InstanceRecords, record_key
from copydicom_provider.records.size import max_record_bytes
from copydicom_provider.records.workers import RecordWorkers, record_processes

__all__ = ["TagsFailed", "index_candidates", "indexed_keys", "replicate_tags"]

#: Instances per round (one dedupe search, parallel reads, one send): bounds memory and search size.
CHUNK = 200
#: Keys asked of the index in one tstats search (about 50 KB of search text).
DEDUPE_PAGE = 1000
#: HEC codes that concern the whole request (token, index, channel): never one instance's fault.
GLOBAL_HEC_CODES = frozenset({1, 2, 3, 4, 7, 10, 11, 14})
#: Indexed field (HEC ``fields``) holding each record's ``RecordKey``: what the non-duplicate check asks.
KEY_FIELD = "copydicom_key"


class TagsFailed(JobFailed, AirflowException):
    """Some instances could not be indexed; carries the summary (what was sent stays sent).

    Not an ``OrthancError``: an instance fails because Orthanc could not serve it *or* because Splunk
    refused its record, and a Splunk refusal must not be classified as an Orthanc one.
    """

    summary: TagsSummary


# --------------------------------------------------------------------------- the index's side
def indexed_keys(splunk: SplunkHook, keys: Sequence[str], *, index: str | None, per_search: int = CHUNK) -> set[str]:
    """Which of ``keys`` (``RecordKey`` values) the index already holds, over all time, in batched tstats.

    Reads the indexed field ``copydicom_key`` (see :meth:`SplunkHook.indexed_values`): cheap on a large
    index, whatever the sourcetype. ``index`` None means every index, where the token's default one is.
    """
    return splunk.indexed_values(KEY_FIELD, keys, indexes=[index] if index else None, per_search=per_search,
                                 one_value_per_event=True)


# --------------------------------------------------------------------------- one run
def _expand(source: OrthancHook, candidates: Candidates, workers: int, summary: TagsSummary) -> list[str]:
    """Instance IDs of the candidates' studies and loose instances, once each, in order."""
    ids: list[str] = []
    for on_source in parallel_map(source.study_instance_ids, candidates.studies, workers):
        if on_source is None:
            summary.vanished += 1
        else:
            ids += on_source
    return list(dict.fromkeys(ids + list(candidates.instances)))


def _reason(error: BaseException) -> str:
    text = str(error).strip() or raised_name(error)
    return text if isinstance(error, (OrthancError, RecordError)) else f"{raised_name(error)}: {text}"


class _Run:
    """State of one :func:`index_candidates` call: hooks, target index, summary, progress."""

    def __init__(self, source: OrthancHook, splunk: SplunkHook, index: str | None, sourcetype: str | None,
                 summary: TagsSummary, logger: logging.Logger, verify: bool = False) -> None:
        self.source, self.splunk, self.summary, self.logger = source, splunk, summary, logger
        self.index = index or splunk.settings.index
        self.sourcetype = sourcetype or splunk.settings.sourcetype
        self.source_name = ""
        #: what this run sent, by record key, when it is to be verified afterwards
        self.sent_records = SentRecords() if verify else None
        #: instances whose incomplete dose report this run counted (a verify resend counts nothing twice)
        self.incomplete: set[str] = set()

    def absent(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` the index lacks once Splunk's indexing lag (``settle_delay``) is waited out."""
        held = self.splunk.held_within(keys, lambda ks: indexed_keys(self.splunk, ks, index=self.index,
                                                                   per_search=DEDUPE_PAGE))
        return set(keys) - held

    def skip_indexed_dose_records(self, items: list[InstanceRecords]) -> None:
        """Drop dose records the index already holds, or an earlier instance of this chunk carries.

        The index holds them after a cut-short send, and -- irradiation events being keyed by their
        UID -- when an earlier report (a cumulative report's first version, the same SR in another
        study) carried the same event.
        """
        keys = [r["RecordKey"] for item in items for r in item.records if r["RecordType"] != "instance"]
        if not keys:
            return
        present = indexed_keys(self.splunk, list(dict.fromkeys(keys)), index=self.index)
        for item in items:
            kept = []
            for record in item.records:
                if record["RecordType"] == "instance" or record["RecordKey"] not in present:
                    kept.append(record)
                    present.add(record["RecordKey"])
            item.records = kept

    def envelope(self, item: InstanceRecords, record: dict[str, Any]) -> dict[str, Any]:
        return self.splunk.envelope(
            record, time=item.time, index=self.index, sourcetype=self.sourcetype,
            source=self.splunk.settings.source or f"orthanc:{self.source_name}",
            fields={KEY_FIELD: record["RecordKey"]},
        )

    def send_chunk(self, items: list[InstanceRecords], read: int, progress: Progress) -> None:
        """Drop dose records already indexed, send the rest; ``read`` instances of the chunk are then done.

        An incomplete report's instance record is held back: it is what marks an instance done.
        """
        for item in items:
            if item.incomplete:
                item.records = [r for r in item.records if r["RecordType"] != "instance"]
        self.skip_indexed_dose_records(items)
        self.send(items)
        progress.advance(read)

    def send(self, items: list[InstanceRecords]) -> None:
        """Send the chunk; an event HEC refuses as malformed fails its instance only."""
        envelopes = [(n, self.envelope(item, r)) for n, item in enumerate(items) for r in item.records]
        bad: set[int] = set()
        start = 0
        while start < len(envelopes):
            try:
                result = self.splunk.send_envelopes(
                    (e for _, e in envelopes[start:]), dedupe_field=KEY_FIELD,
                    held=lambda keys: indexed_keys(self.splunk, keys, index=self.index),
                )
                self.summary.events_sent += result.events
                break
            except SplunkHecError as error:
                if (error.event_number is None or error.status is None or error.status in RETRYABLE_STATUS
                        or not 400 <= error.status < 500 or error.code in GLOBAL_HEC_CODES):
                    raise  # not one record's fault (an outage, a proxy's page): fail the run, send nothing more
                self.summary.events_sent += error.accepted
                owner = envelopes[start + error.event_number][0]
                bad.add(owner)
                self.summary.record_failure(items[owner].instance_id, f"Splunk HEC refused its record: {error.text}")
                start = next((i for i, (n, _) in enumerate(envelopes) if n > owner), len(envelopes))
        for n, item in enumerate(items):
            if n in bad:
                continue
            if item.incomplete:
                if item.instance_id not in self.incomplete:
                    self.incomplete.add(item.instance_id)
                    self.summary.record_incomplete(item.instance_id, item.incomplete)
                    self.logger.warning("tags: instance %s: incomplete dose report: %s", item.instance_id,
                                        item.incomplete)
            else:
                self.summary.sent += 1
            self.summary.dose_reports += item.dose_reports
            self.summary.irradiation_events += item.irradiation_events
            if self.sent_records is not None:
                self.sent_records.add(item.instance_id, item.records)


def index_candidates(
    source: OrthancHook,
    splunk: SplunkHook,
    candidates: Candidates,
    *,
    index: str | None = None,
    sourcetype: str | None = None,
    dry_run: bool = False,
    verify: bool = False,
    chunk: int = CHUNK,
    progress_interval: float = 5.0,
    logger: logging.Logger = log,
) -> TagsSummary:
    """Index what the index lacks among ``candidates``; never raises for a single instance.

    ``index``/``sourcetype`` override the Splunk connection's (default sourcetype ``_json``).
    ``verify`` asks the index afterwards for every record sent (see :mod:`.tags_verify`).
    """
    started = time.monotonic()
    max_record_bytes()  # a bad COPYDICOM_MAX_RECORD_BYTES fails the run before anything is read
    summary = TagsSummary(dry_run=dry_run)
    run = _Run(source, splunk, index, sourcetype, summary, logger, verify=verify and not dry_run)
    source.with_role("source")  # errors name the server: "source Orthanc at ..."
    workers = workers_for(source)
    ids = _expand(source, candidates, workers, summary)
    summary.candidates = len(ids)
    run.source_name = str(source.system().get("Name") or "")
    logger.info(
        "tags: %d candidate instances on %s (%s), index %s, sourcetype %s%s",
        len(ids), source.url, run.source_name or "unnamed", run.index or "(the token's default)",
        run.sourcetype, " (dry run: nothing is sent)" if dry_run else "",
    )
    progress = Progress(len(ids), label="indexed", interval=progress_interval, logger=logger)
    readers = RecordWorkers(source, run.source_name, workers, record_processes(workers, len(ids)))
    # the send of one chunk overlaps the reading of the next; summaries are only touched between them
    sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copydicom-send")
    sending: Future[None] | None = None
    try:
        for missing in _missing_from_index(splunk, run.index, ids, chunk, summary, progress):
            if dry_run or not missing:
                progress.advance(len(missing))
                continue
            outcomes = readers.read(missing, instances_metadata(source, missing))  # metadata: one request
            if sending is not None:
                sending.result()  # the previous chunk's outcome first: a Splunk outage stops the run there
            sending = sender.submit(run.send_chunk, _readable(missing, outcomes, summary, logger), len(missing),
                                    progress)
        if sending is not None:
            sending.result()
        if run.sent_records is not None:
            verify_sent(run.sent_records, run.absent,
                        lambda ids: _readable(ids, readers.read(ids, instances_metadata(source, ids)), summary, logger),
                        run.send, summary, logger)
    finally:
        sender.shutdown(wait=True)  # a send under way finishes (HEC has its own timeouts)
        readers.close()
        progress.close()
    summary.seconds = time.monotonic() - started
    return summary


def _readable(instance_ids: list[str], outcomes: list[Any], summary: TagsSummary,
              logger: logging.Logger) -> list[InstanceRecords]:
    """The records read; a vanished or unreadable instance is counted, an unreachable source raises."""
    items: list[InstanceRecords] = []
    for instance_id, outcome in zip(instance_ids, outcomes, strict=False):
        refused = isinstance(outcome, OrthancError) and outcome.status in (401, 403)
        if isinstance(outcome, ServerUnreachable) or refused:
            raise outcome  # not this instance's fault: fail the task, a retry sends what is missing
        if isinstance(outcome, OrthancError) and outcome.status == 404:
            summary.vanished += 1  # deleted from the source since it was listed
        elif isinstance(outcome, Exception):
            summary.record_failure(instance_id, _reason(outcome))
            logger.warning("tags: instance %s skipped: %s", instance_id, _reason(outcome))
        else:
            items.append(outcome)
    return items


def _missing_from_index(splunk: SplunkHook, index: str | None, ids: list[str], chunk: int, summary: TagsSummary,
                        progress: Progress) -> Iterator[list[str]]:
    """What each chunk of ``ids`` the index lacks, asking the index a page of ``DEDUPE_PAGE`` keys at a time.

    One search per page rather than per chunk: a no-op rerun then costs a few searches (each a
    Splunk search job), while records are still read and sent a chunk at a time, with the check
    at most one page (seconds of work) ahead of the send. A last page under a tenth of a page joins
    the one before it: 1,050 instances cost one search job, not two.
    """
    size = max(chunk, DEDUPE_PAGE)
    pages = list(_chunks(ids, size))
    if len(pages) > 1 and len(pages[-1]) < size // 10:
        pages[-2:] = [pages[-2] + pages[-1]]
    for page in pages:
        present = indexed_keys(splunk, [record_key(i, "instance") for i in page], index=index,
                               per_search=len(page))
        for part in _chunks(page, chunk):
            missing = [i for i in part if record_key(i, "instance") not in present]
            summary.already_indexed += len(part) - len(missing)
            summary.to_send += len(missing)
            progress.advance(len(part) - len(missing))
            yield missing


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


def _tags_candidates(source: OrthancHook, window: Window) -> Candidates:
    """The window's candidates; the whole archive as its instances, listed in one request.

    Why: the tags job wants instances, and ``/instances`` lists them all at once where expanding
    each study costs a request per study (and the instances' tags in each reply).
    """
    if window.kind == "all":
        return Candidates(instances=source.list_ids("instances"))
    return enumerate_candidates(source, window)


def as_splunk(index: SplunkHook | str) -> SplunkHook:
    """Accept a hook or a ``SplunkHook.from_url`` URL."""
    return index if isinstance(index, SplunkHook) else SplunkHook.from_url(index)


def replicate_tags(
    source: OrthancHook | str,
    index: SplunkHook | str,
    window: Window | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    study_date: tuple[date | None, date | None] | None = None,
    dry_run: bool = False,
    splunk_index: str | None = None,
    sourcetype: str | None = None,
    raise_on_failure: bool = True,
    verify: bool = False,
) -> TagsSummary:
    """Index every instance of the window that the Splunk index lacks; returns the summary.

    ``source`` is an Orthanc hook or URL, ``index`` a Splunk hook or URL (see
    :meth:`SplunkHook.from_url`). Windows as in :func:`~copydicom_provider.jobs.replicate.replicate`.
    Raises :class:`TagsFailed` (with the summary) when an instance failed or a dose report is incomplete, unless
    ``raise_on_failure`` is false. ``verify`` asks the index afterwards for every record sent,
    sends what it lacks once more and fails what it still lacks (see :mod:`.tags_verify`).
    """
    source_hook, splunk = as_hook(source), as_splunk(index)
    window = window or window_from_options(since, until, study_date)
    log.info("replicate tags of %s from %s to Splunk at %s", window.describe(), source_hook.url,
             splunk.settings and splunk.hec_url)
    candidates = _tags_candidates(source_hook, window)
    summary = index_candidates(source_hook, splunk, candidates, index=splunk_index, sourcetype=sourcetype,
                               dry_run=dry_run, verify=verify)
    log.info("summary: %s", summary.line())
    if summary.incomplete and not dry_run and raise_on_failure:
        raise TagsFailed(summary)
    return summary
