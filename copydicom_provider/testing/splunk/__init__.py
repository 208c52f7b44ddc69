"""A Splunk-compatible test server, not Splunk: it stands in for Splunk in the tests and in the demo.

Real Splunk cannot run on the machines this project is tested on, so this package plays its part on
127.0.0.1. It is a test double, not Splunk: it follows Splunk's published wire formats (the HTTP
Event Collector on one port, the management REST API on another) closely enough that the
provider's ``SplunkHook`` *and Splunk's own Python SDK* (``splunklib``) work against it unchanged,
and it refuses, with Splunk's error shapes, everything it does not implement instead of answering
something plausible but wrong.

HEC (``hec_url``):
    ``POST /services/collector``, ``/services/collector/event``, ``/services/collector/event/1.0``
    (concatenated JSON envelopes, optionally gzip), ``/services/collector/raw`` (one event per line),
    ``GET /services/collector/health[/1.0]``, ``POST /services/collector/ack``. Auth
    ``Authorization: Splunk <token>`` or Basic with the token as password. Replies are Splunk's
    ``{"text": ..., "code": N}`` bodies with Splunk's status codes (see ``HEC_STATUS``), batch errors
    carry ``invalid-event-number`` and keep the events before it, like Splunk. Indexer
    acknowledgement per token: ``ackId`` counts from 0 per channel, an id is forgotten once polled
    ``true``.

Management (``mgmt_url``), also under ``/servicesNS/{owner}/{app}/``:
    ``POST /services/auth/login`` (XML or JSON session key, optional ``splunkd_<port>`` cookie),
    ``GET /services/server/info``, ``/services/search/jobs`` and ``/services/search/v2/jobs``:
    create (``exec_mode`` normal, blocking, oneshot), job status, ``results``/``results_preview``/
    ``events``, ``control``, ``DELETE``, and ``export`` (streamed JSON lines or XML). Auth
    ``Authorization: Splunk <sessionKey>``, Basic, ``Bearer`` (configured tokens) or the cookie.

SPL subset (nothing beyond it is pretended; the language lives in the ``spl_*`` modules): a leading
``search`` filter with Splunk's boolean semantics
(``AND``/``OR``/``NOT``, parentheses, ``= != < <= > >=``, ``::``, ``IN (...)``, ``*`` wildcards, keywords,
``earliest=``/``latest=``), or a leading ``| tstats`` over indexed fields; then ``| fields``, ``| table``,
``| dedup``, ``| head``, ``| stats count|avg|max|min|sum|median(...) [as x] [by ...]``,
``| rename a AS b``, ``| fillnull [value=X] [field ...]``,
``| sort [N] [-|+]field ...``, ``| mvexpand field [limit=N]``. Any other command gets Splunk's
``Unknown search command 'x'.``; anything else unimplemented gets a FATAL message naming what this
server lacks. Indexed fields (HEC ``fields``) are kept apart from search-time ones: ``field=value``
on a field not declared in ``indexed_fields`` (fields.conf ``INDEXED``) also needs the value's terms
in the raw event, as in Splunk; ``::`` and ``tstats`` read the index's posting lists, so their cost
follows the keys asked, not the index's size. Without ``index=`` only ``main`` is searched, as with
Splunk's default role. JSON events get search-time fields (``a.b``, ``list{}``) whatever their
sourcetype (``KV_MODE=auto``). In-search ``earliest=``/``latest=`` replace the request's range and
``latest`` defaults to now. Results are newest first; every value is a string, multivalue fields are
lists, ``_time`` is ISO 8601 with milliseconds. Transforming searches stream preview rows first.

Fault switches: ``busy(n)`` / ``busy_forever()`` answer 503 "Server is busy" (``busy(n)`` is a storm of n
consecutive refusals, then recovery), ``busy_after(k)`` takes the first k envelopes of a request and then
answers 503 naming ``invalid-event-number`` k, ``drop(n)`` closes the connection without a reply (nothing
stored), ``answer_late(n, delay)`` stores a request's events and answers only ``delay`` seconds later (after
a client's timeout), ``drop_after_store(n)`` stores them and closes the connection without a reply,
``error_after_store(n, status)`` stores them and answers a 5xx (500 "Internal server error" code 8, or a
gateway's HTML page for 502/504), ``proxy_answers(n, body, content_type, store)`` has a proxy in front of
HEC answer 200 with its own body (a login page, a loose ``{"code":0}``) and forward nothing (or, with
``store``, forward first), ``searches_refused(n)`` answers the next n new searches with Splunk's 503
"maximum number of concurrent historical searches", ``partial_peers(n, peer, text)`` takes a search peer down
for the next n searches: they leave out the events that peer holds (events are spread over ``PEERS`` by arrival) and
carry Splunk's WARN message saying so, ``export_message(type, text, after_rows)`` puts an in-stream message
into the next export, ``reset_faults()``. ``search_lag`` makes stored events searchable only that many seconds later, as
Splunk's indexing lag does. Accepted events are kept in memory and, when
``persist_path`` is given, appended to a JSON-lines file (reloaded at start, for demos).

Modules: ``server`` (the listeners and the test's handle), ``store`` (events, tokens, sessions, jobs),
``events`` (a stored event, its search-time fields), ``faults`` (the fault switches), ``http_base``
(request plumbing), ``auth``, ``hec`` / ``hec_envelope`` / ``hec_status`` (the HTTP Event Collector),
``mgmt`` / ``mgmt_base`` / ``search_jobs`` / ``search_events`` / ``result_formats`` (the management
port and its searches), and the SPL subset: ``spl_errors``, ``spl_time``, ``spl_terms``, ``spl_parse``,
``spl_match``, ``spl_tstats``, ``spl_stats``, ``spl_pipeline``.
"""

from copydicom_provider.testing.splunk.events import StoredEvent
from copydicom_provider.testing.splunk.faults import PEERS
from copydicom_provider.testing.splunk.hec_status import HEC_STATUS
from copydicom_provider.testing.splunk.server import DEFAULT_VERSION, SplunkTestServer
from copydicom_provider.testing.splunk.spl_errors import SearchError
from copydicom_provider.testing.splunk.store import HecToken, RecordedRequest, SearchJob, SplunkState

__all__ = [
    "DEFAULT_VERSION",
    "HEC_STATUS",
    "PEERS",
    "HecToken",
    "RecordedRequest",
    "SearchError",
    "SearchJob",
    "SplunkState",
    "SplunkTestServer",
    "StoredEvent",
]
