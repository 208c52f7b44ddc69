"""HEC envelopes encoded for sending, and the batches they travel in (pure data: no I/O)."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass
class HecSendResult:
    """What a send did: events accepted, requests and retries it took, and the acknowledged batches."""

    events: int = 0
    batches: int = 0
    requests: int = 0
    retries: int = 0
    bytes_sent: int = 0
    acknowledged: int = 0
    #: events found already indexed after a lost reply, and therefore not sent again
    reconciled: int = 0
    ack_ids: list[int] = field(default_factory=list, repr=False)


@dataclass
class Batch:
    """Encoded envelopes still to send, with each one's send-wide number and, when deduping, its key.

    ``indexes`` are the indexes the envelopes go to (searched when asking which keys are indexed);
    ``unsure`` holds why the last attempt may have been indexed although no answer said so.
    """

    events: list[bytes]
    numbers: list[int]
    keys: list[str] | None = None
    indexes: frozenset[str] = frozenset()
    unsure: str | None = None

    @property
    def first(self) -> int:
        return self.numbers[0]

    def span(self) -> str:
        first, last = self.numbers[0], self.numbers[-1]
        return f"event {first}" if first == last else f"events {first}-{last}"

    def advance(self, count: int) -> None:
        self.events, self.numbers = self.events[count:], self.numbers[count:]
        if self.keys is not None:
            self.keys = self.keys[count:]

    def part(self, start: int, stop: int | None = None) -> Batch:
        keys = self.keys[start:stop] if self.keys is not None else None
        return Batch(self.events[start:stop], self.numbers[start:stop], keys, self.indexes)

    def discard(self, present: Collection[str]) -> int:
        """Drop the envelopes whose key is in ``present``; returns how many went."""
        if self.keys is None:
            return 0
        keep = [n for n, key in enumerate(self.keys) if key not in present]
        dropped = len(self.keys) - len(keep)
        self.events = [self.events[n] for n in keep]
        self.numbers = [self.numbers[n] for n in keep]
        self.keys = [self.keys[n] for n in keep]
        return dropped


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_envelope(envelope: Mapping[str, Any], number: int) -> bytes:
    if "event" not in envelope:
        raise ValueError(f"envelope {number} has no 'event' (Splunk requires it)")
    if envelope.get("fields") is not None:
        checked_fields(envelope["fields"], number)
    try:
        text = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"envelope {number} cannot be sent as JSON: {exc}") from None
    return text.encode()


def checked_fields(fields: Mapping[str, Any], number: int | None = None) -> dict[str, Any]:
    """Indexed fields must be flat: strings (or numbers) or lists of them, as Splunk requires."""
    where = f" of envelope {number}" if number is not None else ""
    for key, value in fields.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
            raise ValueError(f"indexed field {key!r}{where} must be a string or a list of strings")
    return dict(fields)


#: ``checker(keys, indexes)``: which of ``keys`` the index holds (the batch's target indexes given as scope).
Checker = Callable[[Sequence[str], frozenset[str]], Iterable[str]]


def dedupe_key(envelope: Mapping[str, Any], field_name: str, number: int) -> str:
    """The envelope's key in the indexed field ``field_name``: one non-empty string, or a clear error."""
    value = (envelope.get("fields") or {}).get(field_name)
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"envelope {number} has no indexed field {field_name!r} with a single non-empty string "
            "(the dedupe key a resend is checked against)"
        )
    return value

