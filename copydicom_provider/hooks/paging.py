"""Orthanc's Limit/Since paging, written once: huge archives are never one reply."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def paged(fetch: Callable[[int], list[Any]], page_size: int) -> Iterator[Any]:
    """Every item of ``fetch(since)`` pages, until a page comes back shorter than ``page_size``."""
    since = 0
    while True:
        page = fetch(since)
        yield from page
        if len(page) < page_size:
            return
        since += len(page)
