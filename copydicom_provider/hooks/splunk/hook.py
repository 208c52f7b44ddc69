"""Airflow hook for Splunk: send events over the HTTP Event Collector, search over the REST API.

Splunk listens on two ports: HEC (8088, ``Authorization: Splunk <hec token>``) receives events, the
management port (8089, a user's login/password or a bearer token) runs searches. One hook covers both
with one pooled ``requests.Session``.

The hook reads the connection (settings, secrets, one pooled session) and owns one client per port,
built by composition and usable without Airflow: :class:`~.hec.HecClient` (sending, acks, the settle
polling) and :class:`~.search.SearchClient` (login, searches, server info). Its public methods delegate
to them with the signatures callers have always used; Airflow's UI test is in :mod:`.checks`.

Secrets (HEC token, password, bearer token, session key) are registered with Airflow's secrets
masker and never put into log lines, exception messages or return values.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import requests
from airflow.exceptions import AirflowException
from airflow.sdk import Connection
from airflow.sdk.bases.hook import BaseHook
from airflow.sdk.log import mask_secret
from requests.adapters import HTTPAdapter

from copydicom_provider.hooks.delegation import delegated
from copydicom_provider.hooks.forms import SPLUNK_CONNECTION_TYPE, field_behaviour, form_widgets
from copydicom_provider.hooks.splunk.checks import check_hec, check_management
from copydicom_provider.hooks.splunk.hec import HecClient
from copydicom_provider.hooks.splunk.search import SearchClient
from copydicom_provider.hooks.splunk.settings import HecOptions, SplunkSettings
from copydicom_provider.hooks.splunk.wire import netloc, redacted_url


class SplunkHook(BaseHook):
    """Send events to and search events in Splunk, through an Airflow connection of type ``splunk``.

    :param splunk_conn_id: connection with host, management port, login/password (or extra ``token``)
        and extras ``hec_token``, ``hec_port``, ``hec_host``, ``scheme``, ``verify``, ``index``,
        ``sourcetype``, ``timeout``, ``ack``.
    :param max_batch_events: / :param max_batch_bytes: / :param gzip_min_bytes: / :param retry_attempts: /
        :param backoff_initial: / :param backoff_max: / :param ack_timeout: / :param ack_poll_interval: /
        :param settle_poll_interval: the HEC client's :class:`~.settings.HecOptions` (retries get up to
        ``backoff_initial`` of random jitter).
    :param settle_delay: after a lost HEC reply, how long (seconds) to keep asking the index for the
        batch's keys before resending the ones it lacks; default: the connection's extra
        ``settle_delay``, else 10. Longer than Splunk's indexing lag means no duplicate.
    """

    conn_name_attr = "splunk_conn_id"
    default_conn_name = "splunk_default"
    conn_type = "splunk"
    hook_name = "Splunk"
    #: the two ports' base URLs, set when the connection is read
    hec_url: str
    mgmt_url: str

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
        self.splunk_conn_id = splunk_conn_id
        self.options = HecOptions(
            max_batch_events=max_batch_events, max_batch_bytes=max_batch_bytes, gzip_min_bytes=gzip_min_bytes,
            retry_attempts=retry_attempts, backoff_initial=backoff_initial, backoff_max=backoff_max,
            ack_timeout=ack_timeout, ack_poll_interval=ack_poll_interval, settle_poll_interval=settle_poll_interval,
        )
        self._settle_delay = settle_delay  # resolved with the extras, in SplunkSettings.from_extra
        self._connection: Connection | None = None
        self._session: requests.Session | None = None
        self._settings: SplunkSettings | None = None
        self._hec: HecClient | None = None
        self._search: SearchClient | None = None
        self._hec_token: str | None = None
        self._password: str | None = None

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
            raise ValueError(
                f"Not a Splunk URL (expected http[s]://[user:password@]host:port?...): {redacted_url(url)}"
            )
        extra: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        extra.setdefault("scheme", scheme)
        try:
            port = parts.port or 8089
        except ValueError:
            raise ValueError(
                f"Not a valid port in Splunk URL {redacted_url(url)}: the port must be a number, and a # ? or / "
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

    # ------------------------------------------------------------------ the connection, read once
    @property
    def settings(self) -> SplunkSettings:
        return self._loaded()[0]

    @property
    def settle_delay(self) -> float:
        """Seconds to wait for a batch whose reply was lost to become searchable (resolved by the settings)."""
        return self.settings.settle_delay

    @property
    def hec_client(self) -> HecClient:
        """The HEC client this hook owns (one per hook, so one ack channel)."""
        return self._loaded()[1]

    @property
    def search_client(self) -> SearchClient:
        """The management-port client this hook owns (it keeps the session key)."""
        return self._loaded()[2]

    def _load(self) -> None:
        """Read the connection once; register every secret with the masker before anything can log."""
        if self._settings is not None:
            return
        connection = self.get_connection(self.splunk_conn_id)
        extra = {key.removeprefix("extra__splunk__"): value for key, value in connection.extra_dejson.items()}
        self._hec_token = extra.get("hec_token") or None
        bearer = extra.get("token") or None
        self._password = connection.password or None
        for secret in (self._hec_token, bearer, self._password):
            if secret:
                mask_secret(secret)
        settings = SplunkSettings.from_extra(extra, settle_delay=self._settle_delay)
        host = (connection.host or "localhost").strip().rstrip("/")
        if "://" in host:  # a host given as a URL sets the scheme
            url_parts = urlsplit(host)
            host = url_parts.hostname or host
            if "scheme" not in extra and "use_https" not in extra:
                settings = SplunkSettings.from_extra({**extra, "scheme": url_parts.scheme},
                                                     settle_delay=self._settle_delay)
        self.mgmt_url = f"{settings.scheme}://{netloc(host, connection.port or 8089)}"
        self.hec_url = f"{settings.hec_scheme}://{netloc(settings.hec_host or host, settings.hec_port)}"
        name = self.splunk_conn_id
        self._search = SearchClient(self.get_conn, self.mgmt_url, settings, login=connection.login or None,
                                    password=self._password, bearer=bearer, name=name, log=self.log)
        self._hec = HecClient(self.get_conn, self.hec_url, self._hec_token, settings, self.options,
                              lookup=self._search.indexed_values, name=name, log=self.log)
        self._settings = settings

    def _loaded(self) -> tuple[SplunkSettings, HecClient, SearchClient]:
        self._load()
        assert self._settings is not None and self._hec is not None and self._search is not None
        return self._settings, self._hec, self._search

    def get_conn(self) -> requests.Session:
        """One pooled session per hook for both ports; auth is set per request, never on the session."""
        if self._session is None:
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

    # ------------------------------------------------------------------ the clients' methods, delegated
    # each is the client's own method, signature and docstring (a generator stays lazy): see hooks/delegation.py
    envelope = delegated("hec_client", HecClient.envelope)
    send_events = delegated("hec_client", HecClient.send_events)
    send_envelopes = delegated("hec_client", HecClient.send_envelopes)
    held_within = delegated("hec_client", HecClient.held_within)
    hec_health = delegated("hec_client", HecClient.health)
    indexed_values = delegated("search_client", SearchClient.indexed_values)
    search = delegated("search_client", SearchClient.search)
    server_info = delegated("search_client", SearchClient.server_info)

    # ------------------------------------------------------------------ Airflow UI
    def test_connection(self) -> tuple[bool, str]:
        """Check both sides: HEC health plus the token, and an authenticated management call."""
        try:
            self._load()
        except (ValueError, AirflowException) as exc:
            return False, f"Connection {self.splunk_conn_id!r} is not usable: {exc}"
        hec_ok, hec_message = check_hec(self.hec_client, self.get_conn(), bool(self._hec_token))
        mgmt_ok, mgmt_message = check_management(self.search_client)
        if hec_ok and mgmt_ok:
            return True, f"{hec_message}; {mgmt_message}"
        failed = " and ".join(side for side, ok in (("HEC", hec_ok), ("management", mgmt_ok)) if not ok)
        return False, f"Splunk {failed} side failed. {hec_message}; {mgmt_message}"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Kept for Airflow < 3.2; newer versions read ``get_provider_info`` instead."""
        return field_behaviour(SPLUNK_CONNECTION_TYPE)

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The extra fields for Airflow < 3.2's form; newer versions read ``conn-fields`` instead."""
        return form_widgets(SPLUNK_CONNECTION_TYPE)
