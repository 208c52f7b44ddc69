"""ConditionalReplicateOperator: copy what a Splunk search selects, de-identified unless told otherwise."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Context

from copydicom_provider.assets import SPLUNK_TAGS
from copydicom_provider.conversions import as_bool, optional
from copydicom_provider.deid import AnonymizationProfile
from copydicom_provider.explorer import explorer_url
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.splunk import SplunkHook
from copydicom_provider.jobs.conditional_replicate import IndexWindow, copy_selection
from copydicom_provider.jobs.fail_fast import fail_fast, rejected_search_reason
from copydicom_provider.jobs.run_checks import check_run, destination_extra, pseudonym_key
from copydicom_provider.operators.links import EXPLORER_XCOM_KEY
from copydicom_provider.operators.replicate import ReplicateOperator

#: Slack on both ends of an incremental window: Splunk's clock and the workers' may differ.
CLOCK_SLACK = timedelta(minutes=5)
#: An asset event that does not say what it indexed covers the day before it (and is logged).
UNKNOWN_WINDOW = timedelta(days=1)


class ConditionalReplicateOperator(ReplicateOperator):
    """Copy the instances a Splunk search selects that the destination lacks.

    :param query: a bare SPL filter (``SeriesDescription="Dose Record"``), scoped to the index
        (quoted) and parenthesised; pipes, subsearches, macros and scope fields (``index=``,
        ``earliest=``) are refused.
    :param spl: full SPL run as given instead (``search ...`` or ``| ...``), returning
        ``OrthancInstanceID``, ``OrthancSeriesID`` or ``OrthancStudyID``: trusted input.
    :param earliest: / :param latest: the search window over Splunk's ``_time`` (replicate-tags sets
        it to the study date and time); none means all time.
    :param anonymize: send de-identified copies (default; rest mode). The pseudonym key is the
        destination connection's extra ``pseudonym_secret`` (a secret: never a task argument).
    :param retain_device_identity: keep station name and device serial (dose audits per scanner);
        also on when the destination connection's extra ``retain_device_identity`` is true.
    :param allow_burned_in: send instances that may carry burned-in text (see docs/deidentification.md).

    A run triggered by the tags asset always de-identifies and searches only what Splunk indexed
    since the asset's previous update (the triggering events say when they indexed; give the task
    ``inlets=[SPLUNK_TAGS]`` so that it can read the previous update), whatever the form says.
    A query Splunk rejects fails the task with Splunk's message; a query selecting nothing is a
    green run that copies nothing; selected IDs the source no longer has are counted as vanished.
    """

    template_fields: Sequence[str] = (
        *ReplicateOperator.template_fields,
        "splunk_conn_id",
        "query",
        "spl",
        "earliest",
        "latest",
        "index",
        "anonymize",
        "retain_device_identity",
        "allow_burned_in",
    )

    def __init__(
        self,
        *,
        query: str | None = None,
        spl: str | None = None,
        splunk_conn_id: str = "splunk_default",
        earliest: datetime | str | None = None,
        latest: datetime | str | None = None,
        index: str | None = None,
        anonymize: bool | str = True,
        retain_device_identity: bool | str = False,
        allow_burned_in: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.query = query
        self.spl = spl
        self.splunk_conn_id = splunk_conn_id
        self.earliest = earliest
        self.latest = latest
        self.index = index
        self.anonymize = anonymize
        self.retain_device_identity = retain_device_identity
        self.allow_burned_in = allow_burned_in

    def profile(self, destination: OrthancHook, forced: bool = False) -> AnonymizationProfile | None:
        """The de-identification profile, keyed by the destination connection's pseudonym key."""
        if not forced and not as_bool(self.anonymize, True):
            return None
        extra = destination_extra(destination.get_connection(self.destination_conn_id))
        key = pseudonym_key(extra, self.destination_conn_id)
        # The destination's policy holds for every run; a person may add to it for a manual run.
        device = (as_bool(extra.get("retain_device_identity"), False)
                  or (not forced and as_bool(self.retain_device_identity)))
        burned_in = not forced and as_bool(self.allow_burned_in)
        return AnonymizationProfile(key=key, retain_device_identity=device, allow_burned_in=burned_in)

    def run_params(self, forced: bool = False) -> dict[str, Any]:
        """What :func:`check_run` checks; ``forced``: an asset-triggered run, always de-identified, all time."""
        own = {"splunk_conn_id": self.splunk_conn_id, "earliest": None if forced else self.earliest,
               "latest": None if forced else self.latest, "anonymize": forced or as_bool(self.anonymize, True)}
        return {"source_conn_id": self.source_conn_id, "destination_conn_id": self.destination_conn_id,
                "mode": self.mode} | own

    def execute(self, context: Context) -> dict[str, Any]:
        events = asset_events(context)
        with fail_fast(ti=context.get("ti")):  # a mistake in the form or a connection fails now, in one sentence
            check_run(self.run_params(forced=events is not None))
            destination = OrthancHook(self.destination_conn_id)
            if context.get("ti") is not None:  # the "Orthanc Explorer" link of the research store
                context["ti"].xcom_push(key=EXPLORER_XCOM_KEY, value=explorer_url(destination.url))
        query, spl = optional(self.query), optional(self.spl)
        if spl and query:
            self.log.info("full SPL given: the filter %r is not used", query)
            query = None
        with fail_fast(rejected_search_reason, context.get("ti")):  # a bad query or setting stays bad: no retry
            if events is not None:  # no human in the loop: de-identified and incremental, always
                indexed = index_window(events, self.log, previous_event_time(context, events, self.log))
                profile = self.profile(destination, forced=True)
                earliest = latest = None
            else:
                indexed, profile = None, self.profile(destination)
                earliest, latest = optional(self.earliest), optional(self.latest)
            summary = copy_selection(
                OrthancHook(self.source_conn_id),
                SplunkHook(self.splunk_conn_id),
                destination,
                query,
                spl=spl,
                indexed=indexed,
                earliest=earliest,
                latest=latest,
                index=optional(self.index),
                mode=self.mode,
                anonymize=profile,
                **self.job_options(),
            )
        return self.finish(summary, context)


def asset_events(context: Context) -> list[Any] | None:
    """The asset events that triggered this run, or None for a run a person started."""
    dag_run = context.get("dag_run")
    run_type = str(getattr(dag_run, "run_type", "") or "").lower()
    triggering = context.get("triggering_asset_events") or {}
    events = [event for batch in triggering.values() for event in batch]
    if events or run_type.endswith("asset_triggered"):
        return events
    return None


def previous_event_time(context: Context, events: list[Any], logger: Any) -> datetime | None:
    """When the tags asset was updated last before the events that triggered this run (None: never, or unknown).

    What a tags run indexed and then failed (no asset event) lies between that update and this
    run's events; starting the window there leaves no gap. Needs the task's ``inlets`` to hold the asset.
    """
    inlet_events = context.get("inlet_events")
    stamps = [e.timestamp for e in events if getattr(e, "timestamp", None)]
    if inlet_events is None or not stamps:
        return None
    try:
        earlier = inlet_events[SPLUNK_TAGS].before(min(stamps).isoformat()).ascending(False).limit(1)
        return earlier[0].timestamp if len(earlier) else None
    except Exception as error:  # no inlet declared, or the API is unavailable: the events' own windows still hold
        logger.warning("could not read the tags asset's earlier events (%s): searching the events' own windows",
                       type(error).__name__)
        return None


def index_window(events: Iterable[Any], logger: Any, previous: datetime | None = None) -> IndexWindow:
    """The index-time window covering every triggering event, from the asset's previous update if known.

    replicate-tags writes ``indexed_since``/``indexed_until`` (ISO 8601) in its event's extra; an
    event without them covers ``UNKNOWN_WINDOW`` before its timestamp. ``previous``: the asset's
    last update before these events (:func:`previous_event_time`).
    """
    starts: list[datetime] = [previous] if previous is not None else []
    ends: list[datetime] = []
    for event in events:
        extra = getattr(event, "extra", None) or {}
        stamp = getattr(event, "timestamp", None) or datetime.now().astimezone()
        since, until = extra.get("indexed_since"), extra.get("indexed_until")
        if since and until:
            starts.append(datetime.fromisoformat(str(since)))
            ends.append(datetime.fromisoformat(str(until)))
        else:
            logger.warning("an asset event without its indexing window: searching the day before %s", stamp.isoformat())
            starts.append(stamp - UNKNOWN_WINDOW)
            ends.append(stamp)
    if not ends:
        now = datetime.now().astimezone()
        logger.warning("an asset-triggered run without asset events: searching the day before %s", now.isoformat())
        starts, ends = [now - UNKNOWN_WINDOW], [now]
    return IndexWindow((min(starts) - CLOCK_SLACK).timestamp(), (max(ends) + CLOCK_SLACK).timestamp())
