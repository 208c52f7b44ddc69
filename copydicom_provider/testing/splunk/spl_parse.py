"""SPL search filters parsed by the Splunk-compatible test server (not Splunk).

Search Manual, "Boolean expressions": ``NOT``, ``OR``, ``AND`` (or a space) and parentheses,
evaluated in the order parentheses, ``NOT``, ``OR``, ``AND``: ``a b OR c`` is ``a AND (b OR c)``.
The operators are upper case; ``or`` is a search term. Comparisons are ``=``, ``!=``, ``<``,
``<=``, ``>``, ``>=``, ``::`` and ``field IN (...)``, with ``*`` wildcards; ``earliest=`` and
``latest=`` are time terms, and an ``index=`` term widens the search beyond the default index.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from copydicom_provider.testing.splunk.spl_errors import SearchError
from copydicom_provider.testing.splunk.spl_terms import Exact, unquote, wildcard
from copydicom_provider.testing.splunk.spl_time import parse_time_modifier


@dataclass(frozen=True)
class Term:
    """``field op value(s)``; op is one of ``= != < <= > >= ::`` (``IN`` is ``=`` with several values)."""

    field: str
    op: str
    values: tuple[str, ...]
    # dataclasses.field by its module: the attribute ``field`` above shadows the name in this class
    patterns: tuple[re.Pattern[str] | Exact, ...] = dataclasses.field(compare=False, default=())
    #: the wildcard-free values, lower-cased: ``IN`` lists of thousands of keys are looked up, not scanned
    exact: frozenset[str] = dataclasses.field(compare=False, init=False, repr=False)
    #: the patterns of the values with wildcards
    wild: tuple[re.Pattern[str] | Exact, ...] = dataclasses.field(compare=False, init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "exact", frozenset(v.lower() for v in self.values if "*" not in v))
        object.__setattr__(self, "wild", tuple(p for p, v in zip(self.patterns, self.values, strict=True) if "*" in v))


@dataclass(frozen=True)
class Keyword:
    text: str


@dataclass(frozen=True)
class Not:
    child: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # "AND" or "OR"
    children: tuple[Any, ...]


Expr = Term | Keyword | Not | BoolOp
ALWAYS = BoolOp("AND", ())

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>\() | (?P<close>\))
      | (?P<in_field>[A-Za-z_][\w.{}-]*)\s+(?i:IN)\s*\((?P<in_list>(?:"(?:\\.|[^"\\])*"|[^)"])*)\)
      | (?P<field>[A-Za-z_][\w.{}-]*)\s*(?P<op>::|!=|<=|>=|=|<|>)\s*(?P<value>"(?:\\.|[^"\\])*"|[^\s()"]*)
      | (?P<bare>"(?:\\.|[^"\\])*"|[^\s()"]+)
    )""",
    re.VERBOSE,
)
_LIST_ITEM = re.compile(r'\s*("(?:\\.|[^"\\])*"|[^,\s]+)\s*,?')


@dataclass
class Filter:
    """A parsed search filter: the boolean expression and the in-search time terms."""

    expr: Expr = ALWAYS
    earliest: float | None = None
    latest: float | None = None
    names_index: bool = False  # an index= term anywhere: otherwise only the default index is searched


class _Parser:
    def __init__(self, text: str, now: float) -> None:
        self.text, self.now = text, now
        self.tokens = self._tokenize(text)
        self.position = 0
        self.filter = Filter()

    def _tokenize(self, text: str) -> list[tuple[str, Any]]:
        tokens: list[tuple[str, Any]] = []
        position, text = 0, text.rstrip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                raise SearchError(f"Error in 'search' command: Unable to parse the search: {text[position:]!r}.")
            position = match.end()
            if match["open"]:
                tokens.append(("(", None))
            elif match["close"]:
                tokens.append((")", None))
            elif match["in_field"]:
                items = [unquote(m.group(1)) for m in _LIST_ITEM.finditer(match["in_list"]) if m.group(1)]
                tokens.append(("term", (match["in_field"], "=", items)))
            elif match["field"]:
                if match["value"] == "":
                    raise SearchError(
                        f"Error in 'search' command: Missing a value after '{match['field']}{match['op']}'.")
                tokens.append(("term", (match["field"], match["op"], [unquote(match["value"])])))
            elif match["bare"] in {"AND", "OR", "NOT"}:
                tokens.append((match["bare"], None))
            else:
                tokens.append(("word", match["bare"]))
        return tokens

    def parse(self) -> Filter:
        expr = self._and()
        if self.position < len(self.tokens):
            kind = self.tokens[self.position][0]
            raise SearchError(f"Error in 'search' command: Unexpected '{kind}' in the search.")
        self.filter.expr = expr
        return self.filter

    def _peek(self) -> str | None:
        return self.tokens[self.position][0] if self.position < len(self.tokens) else None

    def _and(self) -> Expr:
        children = []
        while self._peek() not in {None, ")", "OR"}:
            if self._peek() == "AND":
                self.position += 1
                if self._peek() in {None, ")", "AND", "OR"}:
                    raise SearchError("Error in 'search' command: AND needs a search term on both sides.")
                continue
            children.append(self._or())
        if self._peek() == "OR":
            raise SearchError("Error in 'search' command: OR needs a search term on both sides.")
        return children[0] if len(children) == 1 else BoolOp("AND", tuple(children))

    def _or(self) -> Expr:
        children = [self._not()]
        while self._peek() == "OR":
            self.position += 1
            if self._peek() in {None, ")", "AND", "OR"}:
                raise SearchError("Error in 'search' command: OR needs a search term on both sides.")
            children.append(self._not())
        return children[0] if len(children) == 1 else BoolOp("OR", tuple(children))

    def _not(self) -> Expr:
        if self._peek() == "NOT":
            self.position += 1
            if self._peek() in {None, ")", "AND", "OR"}:
                raise SearchError("Error in 'search' command: NOT needs a search term after it.")
            return Not(self._not())
        return self._primary()

    def _primary(self) -> Expr:
        kind, value = self.tokens[self.position]
        self.position += 1
        if kind == "(":
            inner = self._and()
            if self._peek() != ")":
                raise SearchError("Error in 'search' command: Mismatched parentheses.")
            self.position += 1
            return inner
        if kind == ")":
            raise SearchError("Error in 'search' command: Mismatched parentheses.")
        if kind == "word":
            return ALWAYS if value == "*" else Keyword(unquote(value))
        name, op, values = value
        lowered = name.lower()
        if lowered in {"earliest", "latest"} and op == "=":
            try:
                stamp = parse_time_modifier(values[0], self.now)
            except ValueError:
                raise SearchError(f'Invalid value "{values[0]}" for time term \'{lowered}\'') from None
            setattr(self.filter, lowered, stamp)
            return ALWAYS
        if lowered == "index":
            name = "index"
            self.filter.names_index = True
        return Term(name, op, tuple(values), tuple(wildcard(v) for v in values))


def parse_filter(text: str, now: float) -> Filter:
    """Parse the part of ``search ...`` (or a ``tstats`` where clause) before the first pipe."""
    return _Parser(text, now).parse()
