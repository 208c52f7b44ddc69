"""Connection failures told in words an imaging IT engineer acts on, not urllib3's repr, and never a URL's password."""

from __future__ import annotations

import re

import requests

_CAUSES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"WRONG_VERSION_NUMBER|wrong version number|record layer failure", re.I),
     "the TLS handshake failed: this port answers plain HTTP, so use http:// (or the server's HTTPS port)"),
    (re.compile(r"CERTIFICATE_VERIFY_FAILED|certificate verify failed", re.I),
     ("its TLS certificate is not trusted: give the connection's 'verify' extra the path of the CA bundle "
      "that signed it")),
    (re.compile(r"Connection refused|Errno 111", re.I),
     "the connection was refused: nothing listens on that host and port (wrong port, or the server is down)"),
    (re.compile(r"Name or service not known|nodename nor servname|getaddrinfo failed"
                r"|Temporary failure in name resolution|Errno -[23]", re.I),
     "the host name does not resolve: check the connection's host"),
    (re.compile(r"No route to host|Network is unreachable", re.I), "the network has no route to that host"),
    (re.compile(r"Connection reset|RemoteDisconnected|Connection aborted|BrokenPipe", re.I),
     "the server closed the connection without answering (a proxy, TLS on a plain port, or the server restarting)"),
]


def describe_connection_error(exc: BaseException) -> str:
    """One line naming the cause of a ``requests`` connection failure and what to do about it."""
    text = str(exc)
    for pattern, meaning in _CAUSES:
        if pattern.search(text):
            return meaning
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed (check the URL's scheme and the 'verify' extra)"
    reason = text.split("Caused by ", 1)[-1].split("\n", 1)[0].strip("()'\" ")
    return re.sub(r"://[^/@\s]*@", "://***@", reason)[:200]
