"""Values, terms and fields as SPL sees them in the Splunk-compatible test server (not Splunk).

Quoting, ``*`` wildcards, Splunk's major and minor breakers (the raw event's lexicon terms), the
event a search reads, and indexed versus search-time fields (Knowledge Manager Manual, "Configure
index-time field extractions"; fields.conf ``INDEXED``): ``field::value`` and ``tstats`` read only
indexed fields, a search reads both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Any, Protocol


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        return re.sub(r"\\(.)", r"\1", inner) if "\\" in inner else inner
    return value


class Exact:
    """A value without ``*``: matched by case-insensitive equality, as its wildcard pattern would be,
    without compiling a regular expression (``IN`` lists hold thousands of keys)."""

    def __init__(self, value: str) -> None:
        self._lower = value.lower()

    def match(self, text: str) -> bool:
        return text.lower() == self._lower


def wildcard(pattern: str) -> re.Pattern[str] | Exact:
    """Splunk's ``*`` wildcard, case-insensitive; nothing else is special."""
    if "*" not in pattern:
        return Exact(pattern)
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.IGNORECASE | re.DOTALL)


#: Splunk's default major and minor breakers (segmenters.conf), which cut raw text into lexicon terms.
_MAJOR = r"[\s\[\]<>(){}|!;,'\"&?+]|%21|%26|%2526|%3B|%7C|%20|%2B|%3D|--|%2520|%5D|%5B|%3A|%0A|%2C|%28|%29"
_BREAKERS = re.compile(rf"(?:{_MAJOR}|[/:=@.\-$#%\\_])+", re.IGNORECASE)


def terms_of(text: str) -> list[str]:
    """The lexicon terms of ``text``: lower case, cut at major and minor breakers (``*`` kept for wildcards)."""
    return [term for term in _BREAKERS.split(text.lower()) if term]


def term_present(term: str, terms: frozenset[str]) -> bool:
    if "*" not in term:
        return term in terms
    pattern = wildcard(term)
    return any(pattern.match(t) for t in terms)


class Event(Protocol):
    """What an indexed event offers a search (``copydicom_provider.testing.splunk.events.StoredEvent`` is one)."""

    index: str
    host: str
    source: str
    sourcetype: str
    raw: str
    indexed: dict[str, str | list[str]]  # indexed fields (HEC ``fields``)
    time: float  # epoch seconds (``_time``)

    @property
    def extracted(self) -> Mapping[str, str | list[str]]: ...  # search-time fields

    @property
    def terms(self) -> frozenset[str]: ...  # the raw event's lexicon terms


METADATA = ("index", "host", "source", "sourcetype")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def indexed_values(event: Event, name: str) -> list[str]:
    """The field as the index holds it: default metadata or an indexed field; never a search-time one."""
    if name in METADATA:
        return [getattr(event, name)]
    return _as_list(event.indexed.get(name))


def search_values(event: Event, name: str) -> list[str]:
    """The field as a search sees it: indexed values and search-time extractions."""
    values = indexed_values(event, name)
    return values + [v for v in _as_list(event.extracted.get(name)) if v not in values]



def field_list(args: str) -> list[str]:
    """The field names of a command's arguments, separated by spaces or commas."""
    return [name for name in re.split(r"[\s,]+", args.strip()) if name]


def number(value: str) -> float | None:
    """The value as a finite number, or None: what SPL compares and aggregates numerically."""
    try:
        parsed = float(value)
    except (TypeError, ValueError):
        return None
    return parsed if math.isfinite(parsed) else None


def format_number(value: float) -> str:
    """A computed number as Splunk writes it: integral values without a decimal point."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def product(lists: list[list[str]]) -> Iterator[tuple[str, ...]]:
    """Every combination of one value from each list, in order: the groups of a multivalue ``by``."""
    if not lists:
        yield ()
        return
    for head in lists[0]:
        for rest in product(lists[1:]):
            yield (head, *rest)
