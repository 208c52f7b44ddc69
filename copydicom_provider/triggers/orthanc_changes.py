"""Watch a source Orthanc's change log from the triggerer, so the monitor runs seconds after an arrival.

Why an event trigger and not a short schedule: an instance waited on average half an interval for its
run. This trigger asks ``GET /changes?since=<seen>`` every ``poll_interval`` seconds (a few bytes when
nothing arrived) and yields an event when new instances are logged; an ``AssetWatcher`` turns each
event into an asset event, and the monitor DAG is scheduled on that asset.

What the trigger keeps is only where it has looked, in memory: it decides *when* a run starts, never
*what* it copies. The run reads the job's cursor (an Airflow Variable), so a lost, repeated or
coalesced event loses or repeats nothing. When the triggerer restarts, the trigger starts over from
the log's end and fires once at once, so whatever arrived while it was down is taken up by that run
(and by the time schedule kept beside it). A change log that went backwards (a restored or replaced
source) fires too: the run's cursor notices and reconciles.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook

log = logging.getLogger(__name__)

#: The change that means "an instance arrived" (a correction stored again logs it too).
NEW_INSTANCE = "NewInstance"
#: Longest wait between two looks at a source that does not answer (doubling from ``poll_interval``).
MAX_BACKOFF = 60.0


class OrthancChangesTrigger(BaseEventTrigger):
    """Fires when the Orthanc of connection ``orthanc_conn_id`` logs new instances.

    ``poll_interval``: seconds between two looks at the change log (default 2). The payload says why
    it fired (``watch started``, ``arrivals``, ``change log restarted``), the source's last change
    sequence number and how many instances were new: for the logs, never for the copy's decisions.
    """

    def __init__(self, orthanc_conn_id: str = "orthanc_source", poll_interval: float = 2.0) -> None:
        super().__init__()
        self.orthanc_conn_id = orthanc_conn_id
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (f"{type(self).__module__}.{type(self).__qualname__}",
                {"orthanc_conn_id": self.orthanc_conn_id, "poll_interval": self.poll_interval})

    def _event(self, reason: str, last: int, arrivals: int) -> TriggerEvent:
        return TriggerEvent({"source": self.orthanc_conn_id, "reason": reason, "last_seq": last,
                             "new_instances": arrivals})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = OrthancHook(self.orthanc_conn_id).with_role("source")
        hook.get_conn()  # the connection lookup goes through the triggerer's own channel, on its loop
        seen = await self._last_seq(hook)
        log.info("watching the change log of %s from change %s", hook.url, seen)
        yield self._event("watch started", seen or 0, 0)  # whatever arrived while no one watched
        wait = self.poll_interval
        while True:
            await asyncio.sleep(wait)
            try:
                if seen is None:
                    seen = await self._last_seq(hook)
                    yield self._event("watch started", seen or 0, 0)
                    continue
                last, arrivals = await self._read_since(hook, seen)
            except OrthancError as error:
                if wait == self.poll_interval:
                    log.warning("cannot read the change log of %s (%s); looking again with backoff", hook.url, error)
                wait = min(wait * 2, MAX_BACKOFF)
                continue
            if wait != self.poll_interval:
                log.info("the change log of %s answers again", hook.url)
                wait = self.poll_interval
            if last < seen:
                log.warning("the change log of %s went back from %s to %s (a restored or replaced source)",
                            hook.url, seen, last)
                seen = last
                yield self._event("change log restarted", last, 0)
            elif arrivals:
                seen = last
                yield self._event("arrivals", last, arrivals)
            else:
                seen = last

    @staticmethod
    async def _last_seq(hook: OrthancHook) -> int | None:
        """The log's newest sequence number (0 when empty); None while the source does not answer."""
        try:
            newest = await asyncio.to_thread(hook.last_change)
        except OrthancError as error:
            log.warning("cannot read the change log of %s (%s)", hook.url, error)
            return None
        return int(newest["Seq"]) if newest else 0

    @staticmethod
    async def _read_since(hook: OrthancHook, seen: int) -> tuple[int, int]:
        """(last sequence number, new instances) after ``seen``, the log read to its end a page at a time."""
        arrivals, position = 0, seen
        while True:
            page = await asyncio.to_thread(hook.changes, position, 1000)
            changes = page.get("Changes") or []
            arrivals += sum(1 for change in changes if change.get("ChangeType") == NEW_INSTANCE)
            last = int(page.get("Last", position))
            if page.get("Done", True) or last <= position or not changes:
                return last, arrivals
            position = last
