"""One instance from the source to the destination through the worker, and the check of what landed.

Why apart from the modes: the rest mode sends every instance this way, and the peer mode sends
corrections and the first instance of a failed push job this way (for the destination's own answer).

The body goes through in blocks (``GET /instances/{id}/file`` streamed into ``POST /instances``, with
``Accept-Encoding: identity``), never whole in memory, unless it is small enough for the lean path or
is de-identified in the worker. Counting is done from the destination's answer: ``AlreadyStored``
means another run stored it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import BinaryIO, Protocol, cast

import requests
import urllib3

from copydicom_provider.deid import AnonymizationProfile, CannotDeidentify, deidentify_file
from copydicom_provider.errors import StorageFull
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.orthanc_pool import lean_http
from copydicom_provider.jobs.summary import log

#: The pause before an upload the destination failed inside (HTTP 500) is sent once more.
SERVER_FAULT_PAUSE = 0.2
BLOCK = 256 * 1024
#: Files up to this size are read whole and sent in one request (the lean path); larger ones
#: stream in ``BLOCK``s, so the worker's memory stays flat whatever the instance size.
LEAN_COPY_LIMIT = 4 * 1024 * 1024
#: Orthanc's upload statuses that mean "the destination now holds it" ("FilteredOut" does not).
ACCEPTED = {"Success", "AlreadyStored"}


class _Readable(Protocol):
    def read(self, amt: int, /) -> bytes: ...


class _StreamedBody:
    """A file-like view of the source's response with a known length, so the upload is not chunked."""

    def __init__(self, raw: _Readable, length: int) -> None:
        self._raw = raw
        self._length = length

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        return self._raw.read(BLOCK if size is None or size < 0 else max(size, BLOCK))


class InstanceVanished(OrthancError):
    """The source no longer has an instance it listed: reported, not a failure to retry."""


class NotAttempted(Exception):
    """The batch stopped (a server away or full) after this instance was read and before it was sent."""


def _open_source_file(source: OrthancHook, instance_id: str) -> requests.Response:
    try:
        return source.instance_file(instance_id)
    except OrthancError as error:
        if error.status == 404:
            raise InstanceVanished(str(error), status=404) from None
        raise


def send_instance(
    source: OrthancHook,
    destination: OrthancHook,
    instance_id: str,
    *,
    anonymize: AnonymizationProfile | None = None,
    expected_id: str | None = None,
    proceed: Callable[[], bool] | None = None,
) -> tuple[int, str]:
    """Stream one instance (or its de-identified version, made in the worker); returns (bytes, status).

    ``status`` is the destination's ``Success`` or ``AlreadyStored``; anything else raises
    :class:`OrthancError` naming the destination and the reason. ``proceed`` is asked between
    reading the file and sending it: False raises :class:`NotAttempted` (a batch being stopped).
    """
    expected_id = expected_id or instance_id
    for attempt in (1, 2):
        try:
            lean = _lean_send(source, destination, instance_id, proceed) if anonymize is None else None
            if lean is not None:
                size, reply = lean
            else:
                size, reply = _send(source, destination, instance_id, anonymize)
            break
        except OrthancError as error:
            if attempt == 2 or not _server_fault(error, destination):
                raise
            log.warning("%s; sending instance %s once more", error, instance_id)
            time.sleep(SERVER_FAULT_PAUSE)
    status = reply.get("Status")
    if status not in ACCEPTED:
        raise OrthancError(
            f"{destination.name} at {destination.url} did not store instance {instance_id}: status {status!r}",
            server=destination.url,
        )
    if reply.get("ID") != expected_id:
        raise OrthancError(
            f"{destination.name} stored instance {instance_id} under another ID {reply.get('ID')!r}",
            server=destination.url,
        )
    return size, str(status)


def _server_fault(error: OrthancError, destination: OrthancHook) -> bool:
    """The destination failed inside (HTTP 500) for a reason that is not a full storage: worth one
    more send. Orthanc 1.10 answers so when two uploads create the same new storage folder at once
    ("Error while accessing the filesystem"). A resend is safe: an instance stored meanwhile is
    answered ``AlreadyStored``, never stored twice."""
    return error.server == destination.url and error.status == 500 and not isinstance(error, StorageFull)


def _send(source: OrthancHook, destination: OrthancHook, instance_id: str,
          anonymize: AnonymizationProfile | None) -> tuple[int, dict]:
    """The usual path, through requests: large files stream in blocks; errors in Orthanc's words.

    It holds a slot on both servers (the source's file streams into the upload), always in the
    order source, destination, and the lean path never holds both: no two copies wait on each other.
    """
    with source.slots, destination.slots, _open_source_file(source, instance_id) as response:
        length = response.headers.get("Content-Length")
        if anonymize is not None:
            data = _deidentified(anonymize, response.content, instance_id)
            return len(data), destination.upload_instance(data)
        if length and not response.headers.get("Content-Encoding"):
            body = cast(BinaryIO, _StreamedBody(response.raw, int(length)))  # requests needs read() and len()
            return int(length), destination.upload_instance(body)
        data = response.content
        return len(data), destination.upload_instance(data)


def _lean_send(source: OrthancHook, destination: OrthancHook, instance_id: str,
               proceed: Callable[[], bool] | None) -> tuple[int, dict] | None:
    """(bytes, Orthanc's reply) through the hooks' own urllib3 pools, ~0.8 ms of worker CPU less per instance.

    None sends the caller the usual way: a proxy, a file over ``LEAN_COPY_LIMIT``, or a GET
    answered other than 200 (the usual path then reports it in Orthanc's words). The upload's
    answer is final: a refusal raises Orthanc's error, no answer at all reports the server away.
    """
    lean_source, lean_destination = lean_http(source), lean_http(destination)
    if lean_source is None or lean_destination is None:
        return None
    endpoint = f"/instances/{instance_id}/file"
    try:
        with source.slots:
            body = lean_source.get(endpoint, identity=True, limit=LEAN_COPY_LIMIT, quiet=False)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise source.no_answer("GET", endpoint, exc) from None
    if body is None:
        return None
    try:
        with destination.slots:
            if proceed is not None and not proceed():  # asked once a slot is free: the batch may have stopped
                raise NotAttempted(instance_id)
            status, reply = lean_destination.post("/instances", body, "application/dicom")
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise destination.no_answer("POST", "/instances", exc) from None
    if status != 200:
        raise OrthancError.from_reply(destination.base_url, "POST", "/instances", status, reply, destination.name)
    return len(body), json.loads(reply)


def replace_instance(source: OrthancHook, destination: OrthancHook, instance_id: str) -> int:
    """Bring a corrected instance (same ID, other content) to the destination; returns the bytes sent.

    A destination with ``OverwriteInstances`` replaces it on upload; any other answers
    ``AlreadyStored`` and keeps its copy, which is then deleted and sent again. The MD5 that
    landed is checked against the source's either way.
    """
    size, status = send_instance(source, destination, instance_id)
    if status == "AlreadyStored":
        destination.delete("instances", instance_id)
        size, status = send_instance(source, destination, instance_id)
    verify_instance(source, destination, instance_id)
    return size


def _deidentified(profile: AnonymizationProfile, data: bytes, instance_id: str) -> bytes:
    """The de-identified file; what had to be replaced for want of a readable value is logged (no values)."""
    notes: list[str] = []
    try:
        data = deidentify_file(data, profile, notes)
    except CannotDeidentify:
        raise  # withheld, with the element named
    except Exception as error:  # an unreadable file fails this instance only; no value is echoed
        raise OrthancError(f"could not de-identify instance {instance_id}: {type(error).__name__}") from None
    for note in notes:
        log.warning("instance %s: %s", instance_id, note)
    return data


def verify_instance(source: OrthancHook, destination: OrthancHook, instance_id: str) -> None:
    """Compare the MD5 each Orthanc recorded for the stored file."""
    with source.slots:
        expected = source.attachment_md5(instance_id)
    with destination.slots:
        landed = destination.attachment_md5(instance_id)
    if expected != landed:
        raise OrthancError(
            f"verification failed for {instance_id}: MD5 {landed} on the destination, {expected} on the source"
        )
