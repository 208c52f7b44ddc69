"""What the hook asks of Orthanc to push to another Orthanc: peers and the push jobs they run.

Why a module of its own: peer mode (``copy.peer``) is the only user, and the hook's HTTP plumbing
(``request``, ``get_json``, ``post_json``) is all it needs; :class:`OrthancHook` inherits it.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import quote

import requests


class _Http(Protocol):
    """The hook's HTTP plumbing that these methods use."""

    def request(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response: ...
    def get_json(self, endpoint: str, **kwargs: Any) -> Any: ...
    def post_json(self, endpoint: str, body: Any, **kwargs: Any) -> Any: ...


class OrthancPeers:
    """Peers and jobs; mixed into :class:`~copydicom_provider.hooks.orthanc.OrthancHook`."""

    def put_peer(self: _Http, name: str, url: str, username: str | None, password: str | None,
                 headers: dict[str, str] | None = None) -> None:
        """Register a peer (in memory); ``headers`` go with every push to it, and show in its jobs' content."""
        body: dict[str, Any] = {"Url": url}
        if username:
            body["Username"] = username
            body["Password"] = password or ""
        if headers:
            body["HttpHeaders"] = headers
        self.request("PUT", f"/peers/{quote(name)}", data=json.dumps(body))

    def delete_peer(self: _Http, name: str) -> None:
        self.request("DELETE", f"/peers/{quote(name)}", ok=(200, 404))

    def store_to_peer(self: _Http, name: str, resources: list[str]) -> str:
        """Start an asynchronous push job; returns the job ID."""
        reply = self.post_json(f"/peers/{quote(name)}/store", {"Resources": resources, "Asynchronous": True})
        return reply["ID"]

    def job(self: _Http, job_id: str) -> dict[str, Any]:
        return self.get_json(f"/jobs/{job_id}")

    def jobs(self: _Http) -> list[dict[str, Any]]:
        return self.get_json("/jobs", params={"expand": ""})

    def cancel_job(self: _Http, job_id: str) -> None:
        """Cancel a job; one that already ended (or is unknown) is left as it is."""
        self.request("POST", f"/jobs/{job_id}/cancel", data="{}", ok=(200, 400, 404))

    def peers(self: _Http) -> dict[str, dict[str, Any]]:
        """Registered peers by name (Orthanc never returns their passwords)."""
        return self.get_json("/peers", params={"expand": ""})
