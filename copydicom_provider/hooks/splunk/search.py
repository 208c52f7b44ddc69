"""The management-port client: login, streamed export searches, the indexed-key check, server info.

:class:`SearchClient` needs no Airflow: a session, the management URL, the settings and credentials.
:class:`~copydicom_provider.hooks.splunk.SplunkHook` builds one from its connection and delegates to it.

Searching uses ``/services/search/jobs/export`` with ``output_mode=json``: one request, results
streamed as JSON lines and yielded one by one, so a large result set never sits in memory.

Why not ``splunk-sdk`` (splunklib) for the search side: its ``JSONResultsReader`` reads the response
with ``readlines()``, i.e. the whole export in memory, which defeats streaming; its 3.x line needs
Python >= 3.13, so supporting Python 3.10-3.12 would mean pinning the 2.1 line for one endpoint; it
brings its own HTTP layer (no shared session, pool, TLS settings or retry with the HEC side) and an
extra ``server/info`` round trip to choose API paths. The export call is one POST, so it is written
here; the test suite still runs splunklib against the Splunk test server, so an SDK user is covered.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import requests
from airflow.sdk.log import mask_secret

from copydicom_provider.hooks.splunk.errors import SplunkSearchError, SplunkSearchIncomplete
from copydicom_provider.hooks.splunk.settings import SplunkSettings
from copydicom_provider.hooks.splunk.wire import (
    Log,
    first_line,
    form_encoded,
    incomplete_reason,
    json_reply,
    mgmt_text,
    normalize_spl,
    spl_quoted,
    time_param,
)

#: the end of "all time" for the indexed-key check: 2038-01-19, past any plausible event time
LATEST_TIME = "2147483647"
_FIELD_NAME = re.compile(r"[A-Za-z_][\w.-]*")


def index_scope(indexes: Iterable[str] | None) -> str:
    """``index="a"``, ``index IN ("a", "b")``, or ``index=*`` when no index is named."""
    names = sorted(set(indexes or ()))
    if len(names) == 1:
        return f"index={spl_quoted(names[0])}"
    if names:
        return f"index IN ({', '.join(spl_quoted(i) for i in names)})"
    return "index=*"


class SearchClient:
    """Management calls with session or bearer auth, streamed export searches and the indexed-key check.

    :param session: gives the pooled session to send with (called per request: the owner may reopen it).
    :param login: / :param password: for a session key (``/services/auth/login``), unless ``bearer`` is given.
    :param name: the connection's ID, for messages.
    """

    def __init__(self, session: Callable[[], requests.Session], url: str, settings: SplunkSettings, *,
                 login: str | None = None, password: str | None = None, bearer: str | None = None,
                 name: str = "splunk", log: Log | None = None) -> None:
        self._session = session
        self.url = url
        self.settings = settings
        self._login = login
        self._password = password
        self._bearer = bearer
        self._session_key: str | None = None
        self.name = name
        self.log: Log = log or logging.getLogger(__name__)

    def indexed_values(
        self, field_name: str, values: Sequence[str], *, indexes: Iterable[str] | None = None, per_search: int = 200,
        one_value_per_event: bool = False,
    ) -> set[str]:
        """Which of ``values`` the index holds in the indexed field ``field_name``, over all time.

        Asked with ``| tstats count where index=... field IN (...) by field``, one search per
        ``per_search`` values: tstats reads the indexed field from the index's lexicon (tsidx), so its
        cost follows the keys asked, not the years of events in the index, and a key need not appear
        in the raw event (``field=value`` in a plain search would need both). Without ``indexes`` it
        searches ``index=*`` (every index the role may search): HEC then writes to the token's default
        index, which the client cannot name, and the role's default indexes may not include it.
        The range runs to 2038, so events stamped in the future (a modality's wrong clock) are found too.
        An answer Splunk marks partial (a search peer down) raises :class:`SplunkSearchIncomplete`:
        what a partial answer lacks may well be held, and a caller would send it twice.

        ``one_value_per_event`` (each event carries at most one value of the field, as a record key
        does) first counts the distinct values held, in a one-row ``dc()`` search: when it finds none
        or all of them, the per-value rows are not needed, and a rerun's check costs one short reply
        per search. (With several values per event ``dc()`` also counts values outside the list.)
        """
        if not _FIELD_NAME.fullmatch(field_name):
            raise ValueError(f"{field_name!r} is not a plain Splunk field name (letters, digits, _ . -)")
        found: set[str] = set()
        wanted = list(dict.fromkeys(values))
        for start in range(0, len(wanted), max(1, per_search)):
            chunk = wanted[start : start + per_search]
            where = f"where {index_scope(indexes)} {field_name} IN ({', '.join(spl_quoted(v) for v in chunk)})"
            if one_value_per_event:
                held = self._distinct_count(f"| tstats dc({field_name}) AS held {where}")
                if held == 0:
                    continue
                if held is not None and held >= len(chunk):
                    found.update(chunk)
                    continue
            for row in self.search(f"| tstats count {where} by {field_name}", earliest_time="0",
                                   latest_time=LATEST_TIME, complete=True):
                value = row.get(field_name)
                found.update(value if isinstance(value, list) else [value] if value else [])
        return found & set(wanted)

    def _distinct_count(self, query: str) -> int | None:
        """The ``held`` of a one-row ``tstats dc(...) AS held`` search over all time; None when the
        reply is not one plain count (the caller then asks for the values themselves)."""
        rows = list(self.search(query, earliest_time="0", latest_time=LATEST_TIME, complete=True))
        held = rows[0].get("held") if len(rows) == 1 else None
        return int(held) if isinstance(held, str) and held.isascii() and held.isdigit() else None

    # ------------------------------------------------------------------ management port
    def _mgmt_auth(self) -> dict[str, str]:
        if self._bearer:
            return {"Authorization": f"Bearer {self._bearer}"}
        if self._session_key is None:
            self._session_key = self._log_in()
        return {"Authorization": f"Splunk {self._session_key}"}

    def _log_in(self) -> str:
        if not (self._login and self._password):
            raise SplunkSearchError(
                f"Connection {self.name!r} has neither a bearer token (extra 'token') "
                "nor login and password for searches"
            )
        form = {"username": self._login, "password": self._password, "output_mode": "json"}
        response = self._mgmt_send("POST", "/services/auth/login", data=form, auth={})
        key = json_reply(response).get("sessionKey")
        if not key:
            raise SplunkSearchError(f"Splunk at {self.url} answered the login without a session key")
        mask_secret(key)
        return str(key)

    def _mgmt_send(
        self, method: str, path: str, *, auth: dict[str, str] | None = None, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        """One management call; a 401 with a session key logs in again once; errors quote Splunk's message."""
        if isinstance(kwargs.get("data"), Mapping):
            kwargs["data"] = form_encoded(kwargs["data"])
            form_header = {"Content-Type": "application/x-www-form-urlencoded"}
        else:
            form_header = {}
        for attempt in (1, 2):
            headers = {**(self._mgmt_auth() if auth is None else auth), **form_header}
            try:
                response = self._session().request(
                    method,
                    f"{self.url}{path}",
                    headers=headers,
                    stream=stream,
                    timeout=self.settings.timeout,
                    **kwargs,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise SplunkSearchError(
                    f"Splunk management port at {self.url} is unreachable: {first_line(exc)}", unreachable=True,
                ) from None
            if response.status_code == 401 and auth is None and self._session_key and attempt == 1:
                response.close()
                self._session_key = None  # expired session: log in again
                continue
            if response.status_code >= 400:
                text = mgmt_text(response)
                response.close()
                raise SplunkSearchError(
                    f"Splunk at {self.url} refused {method} {path} (HTTP {response.status_code}): {text}",
                    status=response.status_code, text=text,
                )
            return response
        raise AssertionError("unreachable")

    def server_info(self) -> dict[str, Any]:
        """``GET /services/server/info``: version, serverName and the like (an authenticated call)."""
        response = self._mgmt_send("GET", "/services/server/info", params={"output_mode": "json"})
        entries = json_reply(response).get("entry") or [{}]
        return dict(entries[0].get("content") or {})

    def search(
        self,
        query: str,
        earliest_time: float | int | str | datetime | None = None,
        latest_time: float | int | str | datetime | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        complete: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Run SPL over ``[earliest_time, latest_time)`` and yield each result as a dict, streaming.

        Values are strings (multivalue fields lists of strings), as Splunk returns them. A query that
        does not start with ``search`` or ``|`` gets ``search `` prefixed. Times may be epoch
        seconds, datetimes or Splunk time strings (``-24h``). Preview rows of transforming searches
        are skipped; only final results are yielded. The request starts on first iteration.

        Splunk answers with what it has when a search peer is down, adding a WARN message. With
        ``complete`` such a message (see :func:`~.wire.incomplete_reason`) raises
        :class:`SplunkSearchIncomplete`; without it, it is logged. An ERROR or FATAL message always raises.
        """
        data: dict[str, Any] = {"search": normalize_spl(query), "output_mode": "json", **(params or {})}
        for name, value in (("earliest_time", earliest_time), ("latest_time", latest_time)):
            if value is not None:
                data[name] = time_param(value)
        response = self._mgmt_send("POST", "/services/search/jobs/export", data=data, stream=True)
        count = 0
        with response:
            for line in response.iter_lines():
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    raise SplunkSearchError(f"Splunk at {self.url} sent export output that is not JSON") from None
                for message in row.get("messages") or ():
                    partial = incomplete_reason(message)
                    if partial is not None and (complete or message.get("type") != "WARN"):
                        raise SplunkSearchIncomplete(
                            f"Splunk search at {self.url} answered with incomplete results: {partial} "
                            f"(after {count} results). Nothing is taken from a partial answer; try again "
                            "once every search peer is up.", text=partial,
                        )
                    if message.get("type") in {"FATAL", "ERROR"}:
                        raise SplunkSearchError(
                            f"Splunk search at {self.url} failed: {message.get('text')} "
                            f"(after {count} results)", text=message.get("text"),
                        )
                    if message.get("type") == "WARN":  # e.g. a search peer down: the results may be partial
                        self.log.warning("Splunk search at %s: %s", self.url, message.get("text"))
                if row.get("preview") or "result" not in row:
                    continue
                count += 1
                yield row["result"]
        self.log.debug("Splunk search at %s returned %d results", self.url, count)
