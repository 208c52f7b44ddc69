"""The events a search of the Splunk-compatible test server (not Splunk) finds, and the rows it makes of them.

Newest first, in ``[earliest, latest)``, only what is searchable yet (``search_lag``), without the
events of a search peer that is down, and only the default index ``main`` unless ``index=`` is named.
A filter naming an indexed field's exact values reads only those values' posting lists.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from copydicom_provider.testing.splunk.events import StoredEvent, iso_time
from copydicom_provider.testing.splunk.faults import PEERS
from copydicom_provider.testing.splunk.spl_match import Matcher, lookup_keys
from copydicom_provider.testing.splunk.spl_parse import Filter
from copydicom_provider.testing.splunk.store import SplunkState


def peer_down(state: SplunkState) -> str | None:
    """The search peer ``partial_peers`` took down for this search, if any (each search uses one)."""
    with state.lock:
        if state.faults.partial_remaining <= 0:
            return None
        state.faults.partial_remaining -= 1
        return state.faults.partial_peer

def matching(
    state: SplunkState, search: Filter, earliest: float | None, latest: float,
    index_earliest: float | None = None, index_latest: float | None = None, *, tstats: bool = False,
    down: str | None = None,
) -> Iterator[StoredEvent]:
    """Events in ``[earliest, latest)``, newest first, that meet the filter, leaving out peer ``down``'s.

    A filter naming an indexed field's exact values reads only those values' posting lists, as
    Splunk reads the tsidx lexicon: its cost follows the matches, not the size of the index.
    """
    declared = state.indexed_fields
    keys = lookup_keys(search.expr, tstats=tstats, declared_indexed=declared)
    with state.lock:
        if keys is None:
            events = list(state.events)
        else:
            name, values = keys
            found: dict[int, StoredEvent] = {}
            for index in state.indexes:
                for value in values:
                    for event in state.posted(index, name, value):
                        found[id(event)] = event
            events = list(found.values())
    events.sort(key=lambda e: (e.time, e.serial), reverse=True)
    matcher = Matcher(tstats=tstats, declared_indexed=declared)
    now = time.time()
    for event in events:
        if event.searchable_at > now:  # still being indexed
            continue
        if down is not None and PEERS[event.serial % len(PEERS)] == down:
            continue  # held by a search peer that is down
        if earliest is not None and event.time < earliest:
            continue
        if event.time >= latest:
            continue
        if index_earliest is not None and event.indextime < index_earliest:
            continue
        if index_latest is not None and event.indextime >= index_latest:
            continue
        if not search.names_index and event.index != "main":
            continue  # without index=, only the role's default index
        if matcher(search.expr, event):
            yield event

def event_row(state: SplunkState, event: StoredEvent) -> dict[str, Any]:
    row: dict[str, Any] = {
        "_bkt": f"{event.index}~0~00000000-0000-0000-0000-000000000000",
        "_cd": f"0:{event.serial}",
        "_indextime": str(event.indextime),
        "_raw": event.raw,
        "_serial": str(event.serial),
        "_si": [state.server_name, event.index],
        "_sourcetype": event.sourcetype,
        "_time": iso_time(event.time),
        "host": event.host,
        "index": event.index,
        "linecount": "1",
        "source": event.source,
        "sourcetype": event.sourcetype,
        "splunk_server": state.server_name,
    }
    for key, value in event.fields.items():
        row.setdefault(key, value)
    return row
