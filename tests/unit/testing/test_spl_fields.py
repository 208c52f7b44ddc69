"""``rename`` and ``fillnull`` in the Splunk test server, pinned to the Search Reference's semantics."""

from __future__ import annotations

import pytest

from copydicom_provider.testing.splunk.spl_errors import SearchError
from copydicom_provider.testing.splunk.spl_pipeline import parse_spl, run_pipeline


def _run(query: str, rows: list[dict]) -> list[dict]:
    return list(run_pipeline(rows, parse_spl(query, 0.0).commands))


def test_rename_moves_each_value_to_its_new_name() -> None:
    rows = [{"a": "1", "c": "x", "keep": "k"}]
    assert _run('search * | rename a AS b, c as "d e"', rows) == [{"b": "1", "d e": "x", "keep": "k"}]


def test_rename_without_pairs_or_with_wildcards_is_refused() -> None:
    with pytest.raises(SearchError, match="rename"):
        parse_spl("search * | rename a", 0.0)
    with pytest.raises(SearchError, match="wildcards"):
        parse_spl("search * | rename a* AS b*", 0.0)


def test_fillnull_defaults_to_zero_and_fills_missing_or_empty_fields() -> None:
    rows = [{"a": "1"}, {"a": ""}, {"b": "2"}]
    assert _run("search * | fillnull a", rows) == [{"a": "1"}, {"a": "0"}, {"b": "2", "a": "0"}]
    assert _run('search * | fillnull value="n/a" a b', rows)[1] == {"a": "n/a", "b": "n/a"}


def test_fillnull_without_fields_fills_every_field_any_result_has() -> None:
    rows = [{"a": "1", "_time": "t"}, {"b": "2"}]
    assert _run("search * | fillnull value=NULL", rows) == [
        {"a": "1", "_time": "t", "b": "NULL"},
        {"b": "2", "a": "NULL"},
    ]


def test_sort_compares_numbers_as_numbers_strings_lexically_and_descends_with_minus() -> None:
    rows = [{"n": "10", "s": "b"}, {"n": "9", "s": "a"}, {"n": "x", "s": "a"}]
    assert [r["n"] for r in _run("search * | sort n", rows)] == ["9", "10", "x"]
    assert [r["n"] for r in _run("search * | sort s, - n", rows)] == ["x", "9", "10"]
    assert [r["n"] for r in _run("search * | sort 1 -n", rows[:2])] == ["10"]


def test_mvexpand_makes_one_row_per_value_up_to_the_limit() -> None:
    rows = [{"a": "1", "c": ["V1", "V2", "V3"]}, {"a": "2", "c": "V4"}]
    assert _run("search * | mvexpand c", rows) == [
        {"a": "1", "c": "V1"},
        {"a": "1", "c": "V2"},
        {"a": "1", "c": "V3"},
        {"a": "2", "c": "V4"},
    ]
    assert [r["c"] for r in _run("search * | mvexpand limit=2 c", rows)] == ["V1", "V2", "V4"]
    with pytest.raises(SearchError, match="mvexpand"):
        parse_spl("search * | mvexpand", 0.0)
