"""SPL filters evaluated on events by the Splunk-compatible test server (not Splunk).

Values match case-insensitively; ``<``, ``<=``, ``>``, ``>=`` compare numerically when both sides
are numbers, else lexically. ``field!=v`` needs the field to exist, ``NOT field=v`` does not.
``field=value`` on a field not declared indexed also needs the value's terms in the raw event,
because Splunk first looks them up in the index's lexicon; ``field::value`` and ``tstats`` read
the indexed field itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from copydicom_provider.testing.splunk.spl_parse import BoolOp, Expr, Keyword, Not, Term
from copydicom_provider.testing.splunk.spl_terms import (
    METADATA,
    Event,
    indexed_values,
    number,
    search_values,
    term_present,
    terms_of,
)


def _compare(op: str, left: str, right: str) -> bool:
    a, b = number(left), number(right)
    x, y = (a, b) if a is not None and b is not None else (left, right)
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]  # type: ignore[operator]


def _hits(term: Term, values: Iterable[str]) -> bool:
    """Whether any of the event's values matches one of the term's (case-insensitive, ``*`` wildcards)."""
    return any(v.lower() in term.exact or any(p.match(v) for p in term.wild) for v in values)


class Matcher:
    """Evaluates an expression on events: ``search`` semantics, or ``tstats`` (indexed fields only)."""

    def __init__(self, *, tstats: bool = False, declared_indexed: Iterable[str] = ()) -> None:
        self.tstats = tstats
        self.declared = frozenset(declared_indexed)

    def __call__(self, expr: Expr, event: Event) -> bool:
        if isinstance(expr, BoolOp):
            test = all if expr.op == "AND" else any
            return test(self(child, event) for child in expr.children)
        if isinstance(expr, Not):
            return not self(expr.child, event)
        if isinstance(expr, Keyword):
            return self._keyword(expr, event)
        return self._term(expr, event)

    def _keyword(self, keyword: Keyword, event: Event) -> bool:
        terms = terms_of(keyword.text)
        if not all(term_present(t, event.terms) for t in terms):
            return False
        return "*" in keyword.text or keyword.text.lower() in event.raw.lower()

    def _term(self, term: Term, event: Event) -> bool:
        by_index = self.tstats or term.op == "::" or term.field in METADATA or term.field in self.declared
        values = indexed_values(event, term.field) if by_index else search_values(event, term.field)
        if not values:
            return False
        if term.op in {"<", "<=", ">", ">="}:
            return any(_compare(term.op, v, term.values[0]) for v in values)
        hit = _hits(term, values)
        if term.op == "!=":
            return not hit
        if not hit:
            return False
        if by_index:
            return True
        # a field that is not declared indexed: Splunk finds the event by the value's terms first
        return any(value.strip("*") == "" or all(term_present(t, event.terms) for t in terms_of(value))
                   for value, pattern in zip(term.values, term.patterns, strict=True)
                   if any(pattern.match(v) for v in values))

    def keyword_free(self, expr: Expr) -> bool:
        if isinstance(expr, Keyword):
            return False
        if isinstance(expr, Not):
            return self.keyword_free(expr.child)
        if isinstance(expr, BoolOp):
            return all(self.keyword_free(child) for child in expr.children)
        return True


def lookup_keys(expr: Expr, *, tstats: bool, declared_indexed: Iterable[str] = ()) -> tuple[str, list[str]] | None:
    """An indexed field and exact values that every match must hold: the index's posting lists to read.

    Only a top-level conjunct qualifies (``f::v``, or ``f=v``/``f IN (...)`` where the field is read
    from the index), and only without wildcards; None means "scan".
    """
    declared = frozenset(declared_indexed)
    conjuncts = expr.children if isinstance(expr, BoolOp) and expr.op == "AND" else (expr,)
    for item in conjuncts:
        if not isinstance(item, Term) or item.field in METADATA or any("*" in v for v in item.values):
            continue
        if item.op == "::" or (item.op == "=" and (tstats or item.field in declared)):
            return item.field, list(item.values)
    return None
