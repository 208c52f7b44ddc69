"""A stand-in for ``requests.Session`` that answers from a script and records what it was sent."""

from __future__ import annotations

import json
from typing import Any

import requests


def reply(status: int, body: Any) -> requests.Response:
    """A ``requests.Response`` with ``body`` as JSON (or bytes as they are)."""
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response._content_consumed = True  # read already: iter_lines and close work without a socket
    response.headers["Content-Type"] = "application/json"
    return response


class FakeSession:
    """Each request takes the next scripted reply (or raises it, if it is an exception)."""

    def __init__(self, *replies: requests.Response | Exception) -> None:
        self.replies = list(replies)
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.sent.append((method, url, kwargs))
        answer = self.replies.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)
