"""Limit/Since paging: every item once, and no request after a short page."""

from __future__ import annotations

from copydicom_provider.hooks.paging import paged


def test_pages_until_a_short_one():
    items = list(range(7))
    asked: list[int] = []

    def fetch(since: int) -> list[int]:
        asked.append(since)
        return items[since : since + 3]

    assert list(paged(fetch, 3)) == items
    assert asked == [0, 3, 6]


def test_a_full_last_page_costs_one_empty_request():
    asked: list[int] = []
    assert list(paged(lambda since: asked.append(since) or ([1, 2] if since == 0 else []), 2)) == [1, 2]
    assert asked == [0, 2]
