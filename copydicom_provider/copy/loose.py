"""Loose candidates (a received window, a Splunk selection) settled in bulk, a page of IDs per request.

Why: asked one by one (the MD5 each side recorded at reception), a no-op rerun of a received window
cost two requests per instance, about as much as the copy itself. ``POST /tools/bulk-content``
answers for a page of IDs at once, leaving out those a server lacks, with each instance's stored
size and ``ReceptionDate``. An instance that both servers hold is settled without its MD5 when:

* the sizes differ: the source holds other content (a correction), planned as an update;
* the sizes agree and the destination received its copy after the source last stored the instance,
  on the destination's clock (the two clocks' offset is measured by one ``GET /tools/now`` each, as
  received windows are), by more than :func:`upload_margin` (the time the copy's upload may have
  taken): the copy was read from what the source holds now.

:func:`held_by` asks the same pages for existence alone (after a push, after a destination came back,
before counting what storage recycling took).

Anything else is compared by MD5, as before: a reception too close to tell, a clock that cannot be
read, every instance under ``verify``. What the dates cannot see is a correction stored on the source
while an upload of the same instance's old content was in flight, slower than :data:`SLOWEST_UPLOAD`;
``verify`` compares every instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from copydicom_provider.copy.parallel import parallel_map, workers_for
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.orthanc_clock import ClockOffset, measure_offset, offset_between, parse_orthanc_time

#: IDs per ``/tools/bulk-content`` request (its reply is ~1 KB per instance).
PAGE = 1000
#: The part of the margin that does not depend on the file: a request's own latency.
BASE_MARGIN = timedelta(seconds=1)
#: The slowest upload the dates vouch for (bytes per second): a slower one is compared by MD5.
SLOWEST_UPLOAD = 1024 * 1024

MISSING, SAME, DIFFERS = "missing", "same", "differs"
#: What a server without ``/tools/bulk-content`` answers it: "no such resource", "method not allowed".
WITHOUT_BULK = (404, 405)


@dataclass(frozen=True)
class Stored:
    """What a server says of an instance it holds: its stored size and when it received it."""

    size: int | None
    received: datetime | None


def stored(server: OrthancHook, instance_ids: list[str], workers: int, *,
           metadata: bool = True) -> dict[str, Stored]:
    """ID -> :class:`Stored` for the instances of ``instance_ids`` the server holds; a request per page
    (without ``metadata``, no reception dates: an existence check that costs the server less)."""
    wanted = set(instance_ids)
    pages = [instance_ids[start:start + PAGE] for start in range(0, len(instance_ids), PAGE)]
    found: dict[str, Stored] = {}
    for reply in parallel_map(lambda page: server.bulk_instances(page, metadata=metadata), pages, workers):
        for item in reply:
            if item["ID"] in wanted:
                found[item["ID"]] = Stored(_size(item.get("FileSize")), _reception(item.get("Metadata")))
    return found


def settle(source: OrthancHook, destination: OrthancHook, instance_ids: list[str], workers: int,
           *, compare_content: bool = False) -> dict[str, str]:
    """Each ID's state: ``missing`` on the destination, ``same`` content, or ``differs`` (a correction).

    An instance deleted from the source meanwhile counts as ``same``: deletions are not propagated.
    An Orthanc older than ``/tools/bulk-content`` gets each instance asked alone, as before it existed.
    """
    if not instance_ids:
        return {}
    held = _stored_if_offered(destination, instance_ids, workers)
    if held is None:
        return compare_by_md5(source, destination, instance_ids, workers)
    states = {instance_id: MISSING for instance_id in instance_ids if instance_id not in held}
    on_source = _stored_if_offered(source, list(held), workers) if held else {}
    if on_source is None:
        return {**states, **compare_by_md5(source, destination, list(held), workers)}
    # The clocks are read only when some instance is on both: a copy into an empty destination asks nothing more.
    offset = None if compare_content or not on_source else _destination_ahead(source, destination)
    unsure = []
    for instance_id, copy in held.items():
        original = on_source.get(instance_id)
        if original is None:
            states[instance_id] = SAME
        elif None not in (original.size, copy.size) and original.size != copy.size:
            states[instance_id] = DIFFERS
        elif offset is not None and _copied_after(original, copy, offset):
            states[instance_id] = SAME
        else:
            unsure.append(instance_id)
    return {**states, **compare_by_md5(source, destination, unsure, workers)}


def held_by(server: OrthancHook, instance_ids: list[str], workers: int | None = None) -> set[str]:
    """Which of ``instance_ids`` ``server`` holds: a page of IDs per request, or one look-up each on an
    Orthanc without ``/tools/bulk-content`` (a check after a copy of 20,000 instances is 20 requests, not 20,000)."""
    if not instance_ids:
        return set()
    workers = workers_for(server) if workers is None else workers
    found = _stored_if_offered(server, instance_ids, workers, metadata=False)
    if found is not None:
        return set(found)
    present = parallel_map(server.instance_exists, instance_ids, workers)
    return {i for i, held in zip(instance_ids, present, strict=True) if held}


def _stored_if_offered(server: OrthancHook, instance_ids: list[str], workers: int, *,
                       metadata: bool = True) -> dict[str, Stored] | None:
    """:func:`stored`, or None when the server has no ``/tools/bulk-content``."""
    try:
        return stored(server, instance_ids, workers, metadata=metadata)
    except OrthancError as error:
        if error.unreachable or error.status not in WITHOUT_BULK:
            raise
        return None


def compare_by_md5(source: OrthancHook, destination: OrthancHook, instance_ids: list[str],
                   workers: int) -> dict[str, str]:
    """:func:`compare_md5` of each instance, ``workers`` at a time: ID -> state."""
    compared = parallel_map(lambda i: compare_md5(source, destination, i), instance_ids, workers)
    return dict(zip(instance_ids, compared, strict=True))


def compare_md5(source: OrthancHook, destination: OrthancHook, instance_id: str) -> str:
    """The content check of one instance: the MD5 each server recorded at reception (two requests)."""
    landed = destination.stored_md5(instance_id)
    if landed is None:
        return MISSING
    original = source.stored_md5(instance_id)
    return DIFFERS if original is not None and original != landed else SAME


def _destination_ahead(source: OrthancHook, destination: OrthancHook) -> ClockOffset | None:
    """How far the destination's clock is ahead of the source's; None when either cannot be read."""
    on_source, on_destination = measure_offset(source), measure_offset(destination)
    if on_source is None or on_destination is None:
        return None
    return offset_between(on_source, on_destination)


def upload_margin(size: int) -> timedelta:
    """How long an upload of ``size`` bytes may have taken: a reception closer than this proves nothing."""
    return BASE_MARGIN + timedelta(seconds=size / SLOWEST_UPLOAD)


def _copied_after(original: Stored, copy: Stored, offset: ClockOffset) -> bool:
    """Whether the destination surely received its copy more than an upload's time after the source's store."""
    if original.received is None or copy.received is None or original.size is None:
        return False
    # Both dates are truncated to the second: the source's store may be up to a second later than it reads.
    latest_store = original.received + timedelta(seconds=1) + offset.high
    return copy.received - latest_store > upload_margin(original.size)


def _size(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _reception(metadata: object) -> datetime | None:
    text = metadata.get("ReceptionDate") if isinstance(metadata, dict) else None
    try:
        return parse_orthanc_time(text) if isinstance(text, str) else None
    except ValueError:
        return None
