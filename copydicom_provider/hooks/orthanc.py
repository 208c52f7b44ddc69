"""Airflow hook for Orthanc's REST API.

Built on the http provider's ``HttpHook`` so that an ``orthanc`` connection behaves like any other
HTTP connection in Airflow (host, port, login, password, extras), but with one pooled
``requests.Session`` per hook: a replication sends thousands of small requests and must not open a
TCP connection for each.

Two measured facts shape the API:

* Orthanc gzips ``/instances/{id}/file`` when the client accepts gzip, which costs the source
  ~12 CPU-seconds per 1000 instances; DICOM bodies are therefore fetched with
  ``Accept-Encoding: identity``.
* Orthanc IDs are a hash of the DICOM UIDs, so the same instance has the same ID on every
  Orthanc: ``GET /instances/{id}`` on a destination is a one-request existence check.

Reading paths: every request goes through :meth:`OrthancHook.request` except the hot per-instance
requests listed in :mod:`~copydicom_provider.hooks.orthanc_pool`, which decides lean or session.
Settings and URL parsing: :mod:`.orthanc_settings`; the pooled session: :mod:`.orthanc_session`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, cast

import requests
import urllib3
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk import Connection

from copydicom_provider.errors import ConfigurationError, ServerUnreachable
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.forms import ORTHANC_CONNECTION_TYPE, field_behaviour, form_widgets
from copydicom_provider.hooks.network import describe_connection_error
from copydicom_provider.hooks.orthanc_peers import OrthancPeers
from copydicom_provider.hooks.orthanc_session import pooled_session, session_like
from copydicom_provider.hooks.orthanc_settings import (
    ACCEPTED_CONN_TYPES,
    OrthancSettings,
    base_url,
    connection_from_url,
)
from copydicom_provider.hooks.paging import paged

_SLOTS_LOCK = threading.Lock()

#: Headers for DICOM bodies: never let Orthanc gzip a file it then has to gunzip nowhere.
IDENTITY = {"Accept-Encoding": "identity"}
DOWNLOAD_CHUNK = 1 << 20

class OrthancHook(OrthancPeers, HttpHook):
    """Talk to one Orthanc server through an Airflow connection of type ``orthanc``.

    :param orthanc_conn_id: the Airflow connection holding URL, credentials and extras
        (``verify``, ``timeout``, ``max_parallel``, ``scheme``).
    """

    conn_name_attr = "orthanc_conn_id"
    default_conn_name = "orthanc_default"
    conn_type = "orthanc"
    hook_name = "Orthanc"

    def __init__(self, orthanc_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(method="GET", http_conn_id=orthanc_conn_id, **kwargs)
        self.orthanc_conn_id = orthanc_conn_id
        self._connection: Connection | None = None
        self._session: requests.Session | None = None
        self.settings = OrthancSettings()
        self._slots: threading.BoundedSemaphore | None = None
        #: what this server is to the job ("source", "destination"), so every error names it
        self.role = ""

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_url(cls, url: str, conn_id: str = "orthanc_url") -> OrthancHook:
        """Build a hook from ``http://user:password@host:8042?max_parallel=4`` (CLI, library).

        No Airflow metadata database is involved; the password is registered with Airflow's
        secrets masker so that it is redacted from any log line.
        """
        connection = connection_from_url(url, conn_id, cls.conn_type)
        hook = cls(orthanc_conn_id=conn_id)
        hook._connection = connection
        return hook

    @classmethod
    def from_connection(cls, connection: Connection) -> OrthancHook:
        """Wrap an already resolved connection object."""
        hook = cls(orthanc_conn_id=connection.conn_id)
        hook._connection = connection
        return hook

    def get_connection(self, conn_id: str) -> Connection:  # type: ignore[override]
        if self._connection is None:
            connection = super().get_connection(conn_id)
            if connection.conn_type not in ACCEPTED_CONN_TYPES:
                raise ConfigurationError(
                    f"connection {conn_id!r} is of type {connection.conn_type!r}, not 'orthanc': "
                    "pick an Orthanc connection, or change its type"
                )
            self._connection = connection
        return self._connection

    # ------------------------------------------------------------------ session
    def _set_base_url(self, connection: Connection) -> None:
        """Base URL from host (may carry a scheme and a path prefix), port and extras."""
        self.settings = OrthancSettings.from_extra(connection.extra_dejson)
        self.base_url = base_url(connection, self.settings)
        self._base_url_initialized = True

    def get_conn(self, headers: dict[str, Any] | None = None, extra_options: dict[str, Any] | None = None):
        """One pooled session per hook, sized for ``max_parallel`` concurrent requests."""
        if self._session is None:
            connection = self.get_connection(self.orthanc_conn_id)
            self._set_base_url(connection)
            auth = self._extract_auth(cast(Any, connection))  # typed as the ORM's; reads login and password only
            self._session = pooled_session(auth, self.settings.verify, self.base_url, self.settings.max_parallel)
        if headers:
            self._session.headers.update(headers)
        return self._session

    def reopen_after_fork(self) -> None:
        """In a forked child process: new connections, same server and settings, no connection lookup.

        The pooled sockets the child inherited are the parent's (a request from both on one socket
        mixes their replies), and looking the connection up again may need the parent's channel to
        Airflow. The old session is kept, unused and never closed, so that nothing in the child
        touches the parent's sockets.
        """
        old, self._session, self._slots = self._session, None, None
        if old is None:
            return
        self._parents_session = old
        self._session = session_like(old, self.settings.max_parallel)

    @property
    def slots(self) -> threading.BoundedSemaphore:
        """At most ``max_parallel`` copy requests at once to this server, however many threads copy.

        A copy holds the source's slot while it reads a file and the destination's while it sends
        it, so with twice as many threads each server is kept at ``max_parallel`` requests.
        """
        with _SLOTS_LOCK:
            if self._slots is None:
                self.get_conn()
                self._slots = threading.BoundedSemaphore(self.settings.max_parallel)
            return self._slots

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    @property
    def peer_url(self) -> str:
        """How another Orthanc reaches this one (extra ``peer_url``; by default the worker's URL)."""
        self.get_conn()
        return str(self.get_connection(self.orthanc_conn_id).extra_dejson.get("peer_url") or self.base_url)

    @property
    def credentials(self) -> tuple[str | None, str | None]:
        connection = self.get_connection(self.orthanc_conn_id)
        return connection.login, connection.password

    @property
    def url(self) -> str:
        """The server's base URL, without credentials (safe to log)."""
        self.get_conn()
        return self.base_url

    @property
    def name(self) -> str:
        """``source Orthanc``, ``destination Orthanc`` or ``Orthanc``: how messages name this server."""
        return f"{self.role} Orthanc" if self.role else "Orthanc"

    def with_role(self, role: str) -> OrthancHook:
        self.role = role
        return self

    # ------------------------------------------------------------------ plumbing
    def request(
        self,
        method: str,
        endpoint: str,
        *,
        ok: Iterable[int] = (200,),
        timeout: float | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request; a status outside ``ok`` raises :class:`OrthancError` with Orthanc's reason."""
        session = self.get_conn()
        url = f"{self.base_url}/{endpoint.lstrip('/')}"
        try:
            response = session.request(method, url, timeout=timeout or self.settings.timeout, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise self.no_answer(method, endpoint, exc, timeout) from None
        if response.status_code not in tuple(ok):
            raise OrthancError.from_response(self.base_url, method, endpoint, response, self.name)
        return response

    def no_answer(self, method: str, endpoint: str, exc: BaseException, timeout: float | None = None) -> OrthancError:
        """The error for a request that got no answer (timed out, refused, reset): the server is away."""
        if isinstance(exc, (requests.Timeout, TimeoutError, urllib3.exceptions.TimeoutError)):
            message = (f"{self.name} at {self.base_url} did not answer {method} {endpoint.split('?')[0]} "
                       f"within {timeout or self.settings.timeout:g} s")
        else:
            message = f"{self.name} at {self.base_url} is unreachable: {describe_connection_error(exc)}"
        return OrthancError(message, unreachable=True, server=self.base_url)

    def responds(self, timeout: float = 5.0) -> bool:
        """Whether the server answers ``/system`` within ``timeout``: tells a hung server from a slow request."""
        try:
            self.request("GET", "/system", timeout=timeout)
        except OrthancError as error:
            return not isinstance(error, ServerUnreachable)
        return True

    def get_json(self, endpoint: str, **kwargs: Any) -> Any:
        return self.request("GET", endpoint, **kwargs).json()

    def post_json(self, endpoint: str, body: Any, **kwargs: Any) -> Any:
        return self.request("POST", endpoint, data=json.dumps(body), **kwargs).json()

    # ------------------------------------------------------------------ Airflow UI
    def test_connection(self) -> tuple[bool, str]:
        """Answer the UI's Test button: the server's name and version, or why not."""
        try:
            system = self.system()
        except OrthancError as exc:
            return False, str(exc)
        except ValueError as exc:  # malformed connection or a non-JSON reply
            return False, f"{self.base_url or 'Orthanc'} did not answer like Orthanc: {exc}"
        if not isinstance(system, dict) or "Version" not in system:
            return False, f"{self.base_url} answered /system, but not like Orthanc (no Version field)"
        return True, f"Connected to Orthanc {system.get('Name', '?')!r}, version {system['Version']} at {self.base_url}"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Kept for Airflow < 3.2; newer versions read ``get_provider_info`` instead."""
        return field_behaviour(ORTHANC_CONNECTION_TYPE)

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The extra fields for Airflow < 3.2's form; newer versions read ``conn-fields`` instead."""
        return form_widgets(ORTHANC_CONNECTION_TYPE)

    # ------------------------------------------------------------------ Orthanc API
    def system(self) -> dict[str, Any]:
        return self.get_json("/system")

    def changes(self, since: int = 0, limit: int = 1000) -> dict[str, Any]:
        """One page of the change log: ``{"Changes": [...], "Done": bool, "Last": seq}``."""
        return self.get_json("/changes", params={"since": since, "limit": limit})

    def now(self) -> str | None:
        """The server's own clock in UTC (``GET /tools/now``, ``20261201T231324``), which dates its change log.

        None when the server does not offer it (404).
        """
        response = self.request("GET", "/tools/now", ok=(200, 404))
        return response.text.strip().strip('"') if response.status_code == 200 else None

    def last_change(self) -> dict[str, Any] | None:
        """The newest change log entry, or None when the log is empty."""
        page = self.get_json("/changes", params={"last": ""})
        return page["Changes"][-1] if page.get("Changes") else None

    def find(
        self,
        level: str,
        query: dict[str, str],
        *,
        expand: bool = False,
        limit: int | None = None,
        since: int | None = None,
    ) -> list[Any]:
        """``/tools/find``: IDs (or expanded resources) matching a DICOM query at one level."""
        body: dict[str, Any] = {"Level": level, "Query": query, "Expand": expand}
        if limit is not None:
            body["Limit"] = limit
        if since is not None:
            body["Since"] = since
        return self.post_json("/tools/find", body)

    def find_all(self, level: str, query: dict[str, str], page_size: int = 1000) -> Iterator[str]:
        """Every matching ID, paging with Limit/Since so huge archives are never one reply."""
        return paged(lambda since: self.find(level, query, limit=page_size, since=since), page_size)

    def iter_expanded(self, level: str, page_size: int = 1000) -> Iterator[dict[str, Any]]:
        """Every resource at one level with its children's IDs (``/series?expand``), a page per request."""
        return paged(lambda since: self.get_json(
            f"/{level}", params={"expand": "", "since": since, "limit": page_size}), page_size)

    def list_ids(self, level: str) -> list[str]:
        """All IDs at one level (``/patients``, ``/studies``, ``/series``, ``/instances``)."""
        return self.get_json(f"/{level}")

    def study_instance_ids(self, study_id: str) -> list[str] | None:
        """IDs of a study's instances, or None when the server does not have the study."""
        response = self.request("GET", f"/studies/{study_id}/instances", ok=(200, 404))
        if response.status_code == 404:
            return None
        return [item["ID"] for item in response.json()]

    def series_instance_ids(self, series_id: str) -> list[str] | None:
        response = self.request("GET", f"/series/{series_id}/instances", ok=(200, 404))
        if response.status_code == 404:
            return None
        return [item["ID"] for item in response.json()]

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        response = self.request("GET", f"/instances/{instance_id}", ok=(200, 404))
        return response.json() if response.status_code == 200 else None

    def bulk_instances(self, instance_ids: list[str], *, metadata: bool = True) -> list[dict[str, Any]]:
        """Many instances in one ``POST /tools/bulk-content``: each one's resource (``FileSize``, ...) and metadata.

        Instances the server lacks are left out of the reply, which makes it an existence check too.
        One request for the whole list: a caller with thousands pages it.
        """
        endpoint = "/tools/bulk-content"
        response = self.request("POST", endpoint, data=json.dumps(
            {"Resources": list(instance_ids), "Level": "Instance", "Metadata": metadata}))
        try:
            reply = response.json()
        except ValueError:
            reply = None
        if not isinstance(reply, list):  # "none of them held" must never be read from a page that is no answer
            raise OrthancError.from_reply(self.base_url, "POST", endpoint, response.status_code,
                                          b"a body that is not Orthanc's list of instances (a proxy's or a login "
                                          b"page?); nothing is taken from it", self.name)
        return [item for item in reply if isinstance(item, dict) and isinstance(item.get("ID"), str)]

    def instance_exists(self, instance_id: str) -> bool:
        return self.request("GET", f"/instances/{instance_id}", ok=(200, 404)).status_code == 200

    def instance_file(self, instance_id: str) -> requests.Response:
        """The DICOM file as a streamed response; the caller closes it (``with`` works)."""
        return self.request("GET", f"/instances/{instance_id}/file", headers=IDENTITY, stream=True)

    def anonymized_file(self, instance_id: str, body: dict[str, Any]) -> requests.Response:
        """Orthanc's anonymized copy of an instance (not stored on this server), streamed."""
        return self.request(
            "POST", f"/instances/{instance_id}/anonymize", data=json.dumps(body), headers=IDENTITY, stream=True
        )

    def iter_instance_file(self, instance_id: str, chunk_size: int = DOWNLOAD_CHUNK) -> Iterator[bytes]:
        with self.instance_file(instance_id) as response:
            yield from response.iter_content(chunk_size)

    def download_instance(self, instance_id: str) -> bytes:
        return b"".join(self.iter_instance_file(instance_id))

    def upload_instance(self, body: bytes | BinaryIO | Iterable[bytes]) -> dict[str, Any]:
        """``POST /instances``; a generator body is sent chunked, so nothing is held whole."""
        headers = {"Content-Type": "application/dicom", **IDENTITY}
        return self.request("POST", "/instances", data=body, headers=headers).json()

    def delete(self, level: str, resource_id: str) -> None:
        self.request("DELETE", f"/{level}/{resource_id}")

    def attachment_md5(self, instance_id: str) -> str:
        """MD5 of the stored DICOM file, as Orthanc recorded it at reception."""
        return self.request("GET", f"/instances/{instance_id}/attachments/dicom/md5").text.strip().strip('"')

    def stored_md5(self, instance_id: str) -> str | None:
        """The stored file's MD5, or None when the server lacks the instance: existence and content in one request."""
        response = self.request("GET", f"/instances/{instance_id}/attachments/dicom/md5", ok=(200, 404))
        return response.text.strip().strip('"') if response.status_code == 200 else None

    def simplified_tags(self, instance_id: str) -> dict[str, Any]:
        return self.get_json(f"/instances/{instance_id}/simplified-tags")

    def instance_metadata(self, instance_id: str) -> dict[str, str]:
        return self.get_json(f"/instances/{instance_id}/metadata", params={"expand": ""})

    def study_statistics(self, study_id: str) -> dict[str, Any]:
        return self.get_json(f"/studies/{study_id}/statistics")

    def instance_count(self) -> int:
        """How many instances the server holds (``/statistics``)."""
        return int(self.get_json("/statistics")["CountInstances"])

