"""Airflow hook for Splunk: send events over the HTTP Event Collector, search over the REST API.

Splunk listens on two ports: HEC (8088, ``Authorization: Splunk <hec token>``) receives events, the
management port (8089, a user's login/password or a bearer token) runs searches. One hook covers both
with one pooled ``requests.Session``.

The hook holds the connection (settings, secrets, one pooled session) and Airflow's UI test; the
HEC side lives in :mod:`.hec` (with :mod:`.batches`), the search side in :mod:`.search`.

Secrets (HEC token, password, bearer token, session key) are registered with Airflow's secrets
masker and never put into log lines, exception messages or return values.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import requests
from airflow.exceptions import AirflowException
from airflow.sdk import Connection
from airflow.sdk.bases.hook import BaseHook
from airflow.sdk.log import mask_secret
from requests.adapters import HTTPAdapter

from copydicom_provider.hooks.forms import SPLUNK_CONNECTION_TYPE, field_behaviour, form_widgets
from copydicom_provider.hooks.splunk.errors import SplunkError, SplunkHecError
from copydicom_provider.hooks.splunk.hec import HecMixin
from copydicom_provider.hooks.splunk.search import SearchMixin
from copydicom_provider.hooks.splunk.settings import SplunkSettings
from copydicom_provider.hooks.splunk.wire import (
    HEALTHY_CODE,
    NO_DATA_CODE,
    TOKEN_REFUSED_CODES,
    _code_part,
    _first_line,
    _hec_text,
    _json_reply,
    _netloc,
    _redact_url,
)


class SplunkHook(HecMixin, SearchMixin, BaseHook):
    """Send events to and search events in Splunk, through an Airflow connection of type ``splunk``.

    :param splunk_conn_id: connection with host, management port, login/password (or extra ``token``)
        and extras ``hec_token``, ``hec_port``, ``hec_host``, ``scheme``, ``verify``, ``index``,
        ``sourcetype``, ``timeout``, ``ack``.
    :param max_batch_events: / :param max_batch_bytes: cap of one HEC request (uncompressed bytes;
        Splunk Cloud refuses bodies over 1 MB).
    :param gzip_min_bytes: bodies at least this large are sent gzip-compressed.
    :param retry_attempts: requests per batch before giving up on 408/429/5xx/connection errors.
    :param backoff_initial: / :param backoff_max: exponential backoff (seconds) between them, with
        up to ``backoff_initial`` of random jitter.
    :param ack_timeout: / :param ack_poll_interval: how long and how often to poll for acks.
    :param settle_delay: after a lost HEC reply, how long (seconds) to keep asking the index for the
        batch's keys before resending the ones it lacks; default: the connection's extra
        ``settle_delay``, else 10. Longer than Splunk's indexing lag means no duplicate.
    :param settle_poll_interval: how often to ask within ``settle_delay``.
    """

    conn_name_attr = "splunk_conn_id"
    default_conn_name = "splunk_default"
    conn_type = "splunk"
    hook_name = "Splunk"

    def __init__(
        self,
        splunk_conn_id: str = default_conn_name,
        *,
        max_batch_events: int = 1000,
        max_batch_bytes: int = 900_000,
        gzip_min_bytes: int = 64 * 1024,
        retry_attempts: int = 6,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        ack_timeout: float = 300.0,
        ack_poll_interval: float = 0.5,
        settle_delay: float | None = None,
        settle_poll_interval: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_batch_events < 1 or max_batch_bytes < 1 or retry_attempts < 1:
            raise ValueError("max_batch_events, max_batch_bytes and retry_attempts must be at least 1")
        self.splunk_conn_id = splunk_conn_id
        self.max_batch_events = max_batch_events
        self.max_batch_bytes = max_batch_bytes
        self.gzip_min_bytes = gzip_min_bytes
        self.retry_attempts = retry_attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.ack_timeout = ack_timeout
        self.ack_poll_interval = ack_poll_interval
        self._settle_delay = settle_delay
        self.settle_poll_interval = settle_poll_interval
        self._connection: Connection | None = None
        self._session: requests.Session | None = None
        self._settings: SplunkSettings | None = None
        self._hec_token: str | None = None
        self._password: str | None = None
        self._bearer: str | None = None
        self._session_key: str | None = None
        self._channel = str(uuid.uuid4())

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_url(cls, url: str, conn_id: str = "splunk_url", **hook_kwargs: Any) -> SplunkHook:
        """Build a hook without any Airflow metadata database (CLI, scripts).

        URL form: ``http[s]://[user:password@]host[:management_port][?key=value&...]`` where the
        query carries the connection extras: ``hec_token``, ``hec_port`` (8088), ``hec_host``,
        ``token`` (bearer token for searches), ``index``, ``sourcetype`` (``_json``), ``verify``,
        ``timeout``, ``ack``, ``settle_delay``. The URL's scheme applies to both ports (``hec_scheme`` overrides it
        for HEC); ``splunk://`` means https. Percent-encode reserved characters in credentials.
        Example: ``https://admin:pw@splunk.example.org:8089?hec_port=8088&hec_token=T&index=dicom``.
        Keyword arguments go to the hook (batch sizes, retries).
        """
        parts = urlsplit(url)
        scheme = {"http": "http", "https": "https", "splunk": "https"}.get(parts.scheme.lower())
        if scheme is None or not parts.hostname:
            raise ValueError(f"Not a Splunk URL (expected http[s]://[user:password@]host:port?...): {_redact_url(url)}")
        extra: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        extra.setdefault("scheme", scheme)
        try:
            port = parts.port or 8089
        except ValueError:
            raise ValueError(
                f"Not a valid port in Splunk URL {_redact_url(url)}: the port must be a number, and a # ? or / "
                "in the password must be percent-encoded (%23, %3F, %2F)"
            ) from None
        connection = Connection(
            conn_id=conn_id,
            conn_type="splunk",
            host=parts.hostname,
            port=port,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            extra=json.dumps(extra),
        )
        return cls.from_connection(connection, **hook_kwargs)

    @classmethod
    def from_connection(cls, connection: Connection, **hook_kwargs: Any) -> SplunkHook:
        """Wrap an already resolved connection object."""
        hook = cls(splunk_conn_id=connection.conn_id, **hook_kwargs)
        hook._connection = connection
        return hook

    def get_connection(self, conn_id: str) -> Connection:  # type: ignore[override]
        if self._connection is None:
            self._connection = super().get_connection(conn_id)
        return self._connection

    @property
    def settings(self) -> SplunkSettings:
        self._load()
        assert self._settings is not None
        return self._settings

    @property
    def settle_delay(self) -> float:
        """Seconds to wait for a batch whose reply was lost to become searchable (see the module doc)."""
        return self._settle_delay if self._settle_delay is not None else self.settings.settle_delay

    def _load(self) -> None:
        """Read the connection once; register every secret with the masker before anything can log."""
        if self._settings is not None:
            return
        connection = self.get_connection(self.splunk_conn_id)
        extra = {key.removeprefix("extra__splunk__"): value for key, value in connection.extra_dejson.items()}
        self._hec_token = extra.get("hec_token") or None
        self._bearer = extra.get("token") or None
        self._password = connection.password or None
        for secret in (self._hec_token, self._bearer, self._password):
            if secret:
                mask_secret(secret)
        settings = SplunkSettings.from_extra(extra)
        host = (connection.host or "localhost").strip().rstrip("/")
        if "://" in host:  # a host given as a URL sets the scheme
            url_parts = urlsplit(host)
            host = url_parts.hostname or host
            if "scheme" not in extra and "use_https" not in extra:
                settings = SplunkSettings.from_extra({**extra, "scheme": url_parts.scheme})
        self._settings = settings
        self.mgmt_url = f"{settings.scheme}://{_netloc(host, connection.port or 8089)}"
        self.hec_url = f"{settings.hec_scheme}://{_netloc(settings.hec_host or host, settings.hec_port)}"
        self._login = connection.login or None

    def get_conn(self) -> requests.Session:
        """One pooled session per hook for both ports; auth is set per request, never on the session."""
        if self._session is None:
            self._load()
            session = requests.Session()
            session.verify = self.settings.verify
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> SplunkHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


    # ------------------------------------------------------------------ Airflow UI
    def test_connection(self) -> tuple[bool, str]:
        """Check both sides: HEC health plus the token, and an authenticated management call."""
        try:
            self._load()
        except (ValueError, AirflowException) as exc:
            return False, f"Connection {self.splunk_conn_id!r} is not usable: {exc}"
        hec_ok, hec_message = self._check_hec()
        mgmt_ok, mgmt_message = self._check_management()
        if hec_ok and mgmt_ok:
            return True, f"{hec_message}; {mgmt_message}"
        failed = " and ".join(side for side, ok in (("HEC", hec_ok), ("management", mgmt_ok)) if not ok)
        return False, f"Splunk {failed} side failed. {hec_message}; {mgmt_message}"

    def _check_hec(self) -> tuple[bool, str]:
        try:
            health = self.hec_health()
        except SplunkHecError as exc:
            return False, f"HEC: {exc}"
        if health["code"] in TOKEN_REFUSED_CODES:
            return False, f"HEC at {self.hec_url} refused the token (HTTP {health['status']}, code {health['code']}): {health['text']}"
        if health["status"] != 200 or health["code"] != HEALTHY_CODE:
            return False, f"HEC at {self.hec_url} is not healthy (HTTP {health['status']}): {health['text']}"
        if not self._hec_token:
            return False, f"HEC at {self.hec_url} is healthy, but the connection has no HEC token"
        # An empty body is refused with "No data" only after the token was accepted: nothing is indexed.
        try:
            response = self.get_conn().post(
                f"{self.hec_url}/services/collector/event",
                data=b"",
                headers=self._hec_headers(False),
                timeout=self.settings.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            return False, f"HEC at {self.hec_url} is unreachable: {_first_line(exc)}"
        reply = _json_reply(response)
        if reply.get("code") in {NO_DATA_CODE, 0}:
            return True, f"HEC at {self.hec_url} is healthy and accepts the token"
        status = f"HTTP {response.status_code}{_code_part(reply.get('code'))}"
        return False, f"HEC at {self.hec_url} refused the token ({status}): {_hec_text(response, reply)}"

    def _check_management(self) -> tuple[bool, str]:
        try:
            info = self.server_info()
        except SplunkError as exc:
            return False, f"management: {exc}"
        return True, f"management at {self.mgmt_url}: Splunk {info.get('version', '?')} ({info.get('serverName', '?')})"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Kept for Airflow < 3.2; newer versions read ``get_provider_info`` instead."""
        return field_behaviour(SPLUNK_CONNECTION_TYPE)

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The extra fields for Airflow < 3.2's form; newer versions read ``conn-fields`` instead."""
        return form_widgets(SPLUNK_CONNECTION_TYPE)

