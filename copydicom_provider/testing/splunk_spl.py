"""The SPL subset that the Splunk-compatible test server (not Splunk) evaluates, with Splunk's semantics.

Boolean search filters, ``::`` and ``tstats``. Split from :mod:`copydicom_provider.testing.splunk_server`
(which keeps the HTTP side and the pipe commands) so that the search language can grow without touching
the wire formats. What follows Splunk's documentation:

* Boolean filters (Search Manual, "Boolean expressions"): ``NOT``, ``OR``, ``AND`` (or a space) and
  parentheses, evaluated in the order parentheses, ``NOT``, ``OR``, ``AND``: ``a b OR c`` is
  ``a AND (b OR c)``. The operators are upper case; ``or`` is a search term.
* Comparisons: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` (numeric when both sides are numbers, else
  lexical), ``field IN (...)``, ``*`` wildcards; values are matched case-insensitively. ``field!=v``
  needs the field to exist, ``NOT field=v`` does not.
* Indexed versus search-time fields (Knowledge Manager Manual, "Configure index-time field
  extractions"; fields.conf ``INDEXED``): ``field=value`` on a field not declared indexed also needs
  the value's terms in the raw event, because Splunk first looks them up in the index's lexicon.
  ``field::value`` and ``tstats`` read the indexed field itself (HEC ``fields``, plus ``index``,
  ``host``, ``source``, ``sourcetype``) and never search-time fields.
* Time (Search Reference, "Time modifiers"): an ``earliest=``/``latest=`` in the search overrides the
  REST ``earliest_time``/``latest_time``; ``latest`` defaults to now.
* ``| tstats count|count(f)|dc(f)|values(f)|min(f)|max(f)|sum(f) [as x] [where ...] [by f ...]``
  (Search Reference, "tstats"): only indexed fields, as Splunk's tsidx files hold only those.

Anything outside this is refused with a FATAL message naming what the test server lacks.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol


class SearchError(Exception):
    """A search Splunk would refuse: carries Splunk's message type and text."""

    def __init__(self, text: str, msg_type: str = "FATAL", status: int = 400) -> None:
        super().__init__(text)
        self.text = text
        self.msg_type = msg_type
        self.status = status


# --------------------------------------------------------------------------- time modifiers
_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_RELATIVE = re.compile(r"^(?:(?P<sign>[+-])(?P<num>\d*)(?P<unit>[a-z]+))?(?:@(?P<snap>[a-z]+))?$")


def parse_time_modifier(value: str | None, now: float) -> float | None:
    """Epoch, ISO 8601, ``%m/%d/%Y:%H:%M:%S``, ``now``, or relative (``-24h``, ``-1d@d``); None if empty."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if text == "now":
        return now
    try:
        return float(text)
    except ValueError:
        pass
    for parse in (lambda t: datetime.fromisoformat(t), lambda t: datetime.strptime(t, "%m/%d/%Y:%H:%M:%S")):
        try:
            stamp = parse(text)
        except ValueError:
            continue
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        return stamp.timestamp()
    match = _RELATIVE.match(text)
    if not match or not (match["unit"] or match["snap"]):
        raise ValueError(text)
    result = now
    if match["unit"]:
        if match["unit"] not in _UNITS:
            raise ValueError(text)
        amount = int(match["num"] or 1) * _UNITS[match["unit"]]
        result += amount if match["sign"] == "+" else -amount
    if match["snap"]:
        snap = _UNITS.get(match["snap"])
        if snap is None or snap > 86400:
            raise ValueError(text)
        result = math.floor(result / snap) * snap
    return result


def time_bounds(
    search_earliest: float | None, search_latest: float | None, rest: Mapping[str, str | None], now: float
) -> tuple[float | None, float]:
    """``[earliest, latest)``: in-search terms replace the REST range as a whole; latest defaults to now."""
    if search_earliest is not None or search_latest is not None:
        return search_earliest, now if search_latest is None else search_latest
    bounds = {name: request_time(rest, name, now) for name in ("earliest_time", "latest_time")}
    latest = bounds["latest_time"]
    return bounds["earliest_time"], now if latest is None else latest


def request_time(params: Mapping[str, str | None], name: str, now: float) -> float | None:
    """The time modifier a request carries under ``name``; refused as Splunk refuses it, naming the parameter."""
    try:
        return parse_time_modifier(params.get(name), now)
    except ValueError:
        raise SearchError(f"Invalid {name}.") from None


# --------------------------------------------------------------------------- values and terms
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
    """What an indexed event offers a search (``copydicom_provider.testing.splunk_server.StoredEvent`` is one)."""

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


# --------------------------------------------------------------------------- expressions
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


# --------------------------------------------------------------------------- evaluation
def _number(value: str) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _compare(op: str, left: str, right: str) -> bool:
    a, b = _number(left), _number(right)
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


# --------------------------------------------------------------------------- tstats
_TSTATS_FUNC = re.compile(
    r"\s*(?P<func>count|dc|values|min|max|sum)\s*(?:\(\s*(?P<arg>[^)\s]*)\s*\))?"
    r"(?:\s+as\s+(?P<alias>[\w.{}:-]+|\"[^\"]+\"))?\s*,?",
    re.IGNORECASE,
)
_TSTATS_OPTIONS = {"summariesonly", "allow_old_summaries"}


@dataclass
class Tstats:
    funcs: list[tuple[str, str | None, str]]  # (function, field, output name)
    filter: Filter
    by: list[str]


def _split_keyword(text: str, word: str) -> tuple[str, str | None]:
    """Split at the first `` word `` outside quotes and parentheses.

    Only quotes, parentheses and the word's occurrences change anything, so only they are visited
    (a ``where`` clause can be 100 KB of keys).
    """
    depth, quoted, lowered = 0, False, text.lower()
    for match in re.finditer(r'["()]|' + re.escape(word), lowered):
        n, char = match.start(), match.group()
        if char == '"' and (n == 0 or text[n - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif (char == word and not quoted and depth == 0 and (n == 0 or text[n - 1].isspace())
              and (n + len(word) == len(text) or text[n + len(word)].isspace())):
            return text[:n], text[n + len(word):]
    return text, None


def parse_tstats(args: str, now: float) -> Tstats:
    head, where = _split_keyword(args, "where")
    rest = where if where is not None else head
    rest, by = _split_keyword(rest, "by")
    if where is None:
        head = rest
    else:
        where = rest
    words = head.split()
    while words and "=" in words[0] and not words[0].lower().startswith(("count", "dc", "values")):
        option = words.pop(0).split("=", 1)[0].lower()
        if option not in _TSTATS_OPTIONS:
            raise SearchError(
                f"Error in 'tstats' command: the Splunk test server does not implement the option '{option}'.")
    text = " ".join(words)
    funcs: list[tuple[str, str | None, str]] = []
    position = 0
    while position < len(text):
        match = _TSTATS_FUNC.match(text, position)
        if not match or match.end() == position:
            raise SearchError(
                "Error in 'tstats' command: the Splunk test server implements count, dc, values, min, max "
                f"and sum over indexed fields; cannot parse {text[position:]!r}."
            )
        position = match.end()
        func, arg = match["func"].lower(), match["arg"] or None
        if func != "count" and not arg:
            raise SearchError(f"Error in 'tstats' command: The argument '{func}' is invalid.")
        name = unquote(match["alias"]) if match["alias"] else (f"{func}({arg})" if arg else func)
        funcs.append((func, arg, name))
    if not funcs:
        raise SearchError("Error in 'tstats' command: The argument '' is invalid.")
    by_fields = [name for name in re.split(r"[\s,]+", (by or "").strip()) if name]
    if any("=" in name for name in by_fields):
        raise SearchError(
            "Error in 'tstats' command: the Splunk test server does not implement 'span' or other by-options.")
    parsed = parse_filter(where or "", now)
    if not Matcher().keyword_free(parsed.expr):
        raise SearchError("Error in 'tstats' command: the Splunk test server does not implement raw terms in 'where'.")
    return Tstats(funcs, parsed, by_fields)


def _tstats_values(event: Event, name: str) -> list[str]:
    if name == "_time":
        return [str(int(event.time))]
    return indexed_values(event, name)


def run_tstats(
    spec: Tstats, events: Iterable[Event], format_number: Callable[[float], str]
) -> Iterator[dict[str, Any]]:
    """Aggregate ``events`` (already filtered) by the ``by`` fields, from indexed values only."""
    groups: dict[tuple[str, ...], list[Event]] = {}
    for event in events:
        keys = [_tstats_values(event, name) for name in spec.by]
        if any(not k for k in keys):
            continue
        for combo in _product(keys):
            groups.setdefault(combo, []).append(event)
    if not spec.by and not groups:
        groups[()] = []
    for key in sorted(groups):
        row: dict[str, Any] = dict(zip(spec.by, key, strict=True))
        members = groups[key]
        for func, arg, name in spec.funcs:
            if func == "count" and arg is None:
                row[name] = str(len(members))
                continue
            values = [v for event in members for v in _tstats_values(event, arg or "")]
            if func == "count":
                row[name] = str(len(values))
            elif func == "dc":
                row[name] = str(len(set(values)))
            elif func == "values":
                distinct = sorted(set(values))
                if distinct:
                    row[name] = distinct[0] if len(distinct) == 1 else distinct
            else:
                numbers = [n for n in (_number(v) for v in values) if n is not None]
                if numbers:
                    reducers: dict[str, Callable[[list[float]], float]] = {"min": min, "max": max, "sum": math.fsum}
                    result = reducers[func](numbers)
                    row[name] = format_number(result)
        yield row


def _product(lists: list[list[str]]) -> Iterator[tuple[str, ...]]:
    if not lists:
        yield ()
        return
    for head in dict.fromkeys(lists[0]):
        for rest in _product(lists[1:]):
            yield (head, *rest)
