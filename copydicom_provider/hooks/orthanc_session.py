"""The hook's pooled ``requests.Session``: built once from the connection, rebuilt alike in a forked child.

Why: a replication sends thousands of small requests, so the session keeps ``max_parallel + 2``
connections open, and reads the proxy and CA-bundle variables once rather than on every request.
"""

from __future__ import annotations

import os
from typing import Any

import requests
from requests.adapters import HTTPAdapter


def pooled_session(auth: Any, verify: bool | str, base_url: str, max_parallel: int) -> requests.Session:
    """A session for one server, with its auth, TLS check and proxies fixed at creation."""
    session = requests.Session()
    session.auth = auth
    session.verify = verify
    # requests re-reads proxy and CA-bundle variables from the environment on every request
    # (~0.2 ms each, thousands of requests per job): read them once, here.
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(base_url)
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if session.verify is True and ca_bundle:
        session.verify = ca_bundle
    return mounted(session, max_parallel)


def session_like(old: requests.Session, max_parallel: int) -> requests.Session:
    """A new session (new sockets) with ``old``'s auth, TLS, proxies and headers: for a forked child."""
    session = requests.Session()
    session.auth, session.verify, session.cert = old.auth, old.verify, old.cert
    session.trust_env, session.proxies = old.trust_env, dict(old.proxies)
    session.headers.update(old.headers)
    return mounted(session, max_parallel)


def mounted(session: requests.Session, max_parallel: int) -> requests.Session:
    """``session`` with a pool sized for ``max_parallel`` concurrent requests on both schemes."""
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max_parallel + 2)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
