"""The events the Splunk-compatible test server (not Splunk) keeps, and how a search renders their values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from copydicom_provider.testing.splunk.spl_terms import terms_of


@dataclass
class StoredEvent:
    """One indexed event: metadata, raw text and indexed fields (HEC ``fields``, in ``indexed``).

    Search-time fields (``extracted``) and the raw text's lexicon terms are derived on first use and
    kept, as Splunk derives them at search time from the same raw text; ``fields`` shows both, as a
    search row does.
    """

    time: float
    index: str
    host: str
    source: str
    sourcetype: str
    raw: str
    indextime: int
    serial: int
    indexed: dict[str, str | list[str]] = field(default_factory=dict)
    searchable_at: float = 0.0  # epoch seconds; not persisted (a reloaded event is searchable at once)

    @cached_property
    def extracted(self) -> dict[str, str | list[str]]:
        """``KV_MODE=auto``: a JSON object event gets its fields extracted, whatever its sourcetype."""
        if not self.raw.lstrip().startswith("{"):
            return {}
        try:
            return extract_json_fields(json.loads(self.raw))
        except ValueError:
            return {}

    @property
    def fields(self) -> dict[str, str | list[str]]:
        """What a search sees: search-time fields, and indexed fields over them."""
        return {**self.extracted, **self.indexed}

    @cached_property
    def terms(self) -> frozenset[str]:
        return frozenset(terms_of(self.raw))

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time, "index": self.index, "host": self.host, "source": self.source,
            "sourcetype": self.sourcetype, "raw": self.raw, "indextime": self.indextime,
            "serial": self.serial, "fields": self.indexed,
        }


def splunk_str(value: Any) -> str:
    """Splunk renders every field value as a string (JSON literals keep their JSON spelling)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return json.dumps(value)


def extract_json_fields(event: Any) -> dict[str, str | list[str]]:
    """Search-time JSON extraction as Splunk names it: ``a.b`` for objects, ``a{}`` for arrays."""
    out: dict[str, list[str]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for item in value:
                walk(item, f"{path}{{}}")
        elif path:
            out.setdefault(path, []).append(splunk_str(value))

    if isinstance(event, dict):
        walk(event, "")
    return {key: values[0] if len(values) == 1 else values for key, values in out.items()}


def iso_time(epoch: float) -> str:
    stamp = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+00:00"
