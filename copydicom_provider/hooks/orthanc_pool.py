"""The hot requests (the tags job's GETs, the copy's GET + POST) straight through the hook's urllib3 pool.

Which path a request takes, decided here and nowhere else:

* lean (this module, :func:`lean_http`): the per-instance requests of the two hot loops --
  ``GET /instances/{id}/file`` and ``GET /instances/{id}/metadata?expand`` of the tags job
  (:mod:`copydicom_provider.records.instance`), and the copy's ``GET /instances/{id}/file`` and
  ``POST /instances`` (:mod:`copydicom_provider.copy.send`);
* the session (:meth:`OrthancHook.request` and the hook's named methods): everything else (change
  log, find, peers, jobs, statistics, deletes, anonymized or streamed bodies), and every lean GET
  that did not get a plain 200, asked again so that Orthanc's error is raised in its usual form.

No module outside ``hooks/`` builds an HTTP request to Orthanc: it calls the hook or this module.
There is no lean path behind a proxy (:func:`lean_http` returns None and the callers use the session).

Why: requests spends ~0.4 ms of CPU per request preparing, merging settings and dispatching hooks,
while the tags job and the copy on a busy machine are bound by the worker's CPU (threads share one
interpreter lock) and send two requests per instance. The headers (authorization, user agent) are
prepared once by requests itself from the hook's session, and the pool is the one requests uses, with
the same TLS settings; so the server sees the same request. Only plain 200 replies are answered here:
anything else returns ``None`` and the caller asks again through :meth:`OrthancHook.request`, which
raises Orthanc's errors in their usual form (a GET asked twice changes nothing on the server). A
POST's answer, whatever its status, is returned to the caller, which reads Orthanc's error from it:
an upload is never sent twice.

The prepared headers carry the credentials: they are never logged or put in an error.
"""

from __future__ import annotations

import threading
import weakref
from typing import cast
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from copydicom_provider.hooks.orthanc import IDENTITY, OrthancHook

__all__ = ["LeanHttp", "lean_http"]

_NO_RETRY = Retry(0, read=False, redirect=False)
_CACHE: weakref.WeakKeyDictionary[requests.Session, LeanHttp | None] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


class LeanHttp:
    """Requests to one hook's server through its session's connection pool; ``None`` for anything but a 200."""

    def __init__(self, session: requests.Session, base_url: str, timeout: float) -> None:
        prepared = session.prepare_request(requests.Request("GET", f"{base_url}/system"))
        adapter = cast(HTTPAdapter, session.get_adapter(base_url))  # the hook mounts HTTPAdapters only
        self._pool = cast(urllib3.HTTPConnectionPool,
                          adapter.get_connection_with_tls_context(prepared, session.verify, None, session.cert))
        self._headers = dict(prepared.headers)
        self._identity = {**self._headers, **IDENTITY}
        self._prefix = urlsplit(base_url).path.rstrip("/")
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)

    def get(self, endpoint: str, *, identity: bool = False, limit: int | None = None,
            quiet: bool = True) -> bytes | None:
        """The body of a 200 reply to ``GET endpoint``, or None (another status, no reply, a body over ``limit``)."""
        return self._get(endpoint, self._identity if identity else self._headers, limit, quiet)

    def post(self, endpoint: str, body: bytes, content_type: str) -> tuple[int, bytes]:
        """(status, body) of ``POST endpoint`` (sent uncompressed), whatever the status.

        No answer at all raises urllib3's error (or ``OSError``), so that the caller reports a
        server that is away without asking it a second time.
        """
        response = self._pool.urlopen(
            "POST", self._prefix + endpoint, body=body, headers={**self._identity, "Content-Type": content_type},
            retries=_NO_RETRY, timeout=self._timeout, redirect=False, assert_same_host=False, preload_content=False,
        )
        try:
            return response.status, response.read()
        finally:
            response.release_conn()

    def _get(self, endpoint: str, headers: dict[str, str], limit: int | None, quiet: bool) -> bytes | None:
        try:
            response = self._pool.urlopen(
                "GET", self._prefix + endpoint, headers=headers,
                retries=_NO_RETRY, timeout=self._timeout, redirect=False, assert_same_host=False,
                preload_content=False,
            )
        except (urllib3.exceptions.HTTPError, OSError):
            if quiet:
                return None
            raise
        try:
            length = response.headers.get("Content-Length")
            if response.status != 200 or (limit is not None and (not length or not length.isdigit()
                                                                  or int(length) > limit)):
                response.close()  # unread body: drop the connection rather than read it
                return None
            return response.read()
        except (urllib3.exceptions.HTTPError, OSError):
            response.close()
            return None
        finally:
            response.release_conn()


def lean_http(hook: OrthancHook) -> LeanHttp | None:
    """The hook's :class:`LeanHttp`, made once per session; None when a proxy is configured (requests handles those)."""
    session = hook.get_conn()
    with _LOCK:
        if session not in _CACHE:
            usable = not session.proxies and urlsplit(hook.base_url).scheme in ("http", "https")
            _CACHE[session] = LeanHttp(session, hook.base_url, hook.settings.timeout) if usable else None
        return _CACHE[session]
