"""Splunk: one Airflow hook for both of Splunk's ports, split by concern.

``copydicom_provider.hooks.splunk.SplunkHook`` stays the import path connection forms and users name.

* :mod:`.hook`: :class:`SplunkHook`, which reads the connection (settings, secrets, one pooled session),
  owns one client per port and delegates to them; the UI's connection test is in :mod:`.checks`;
* :mod:`.hec`: :class:`HecClient`, sending over the HTTP Event Collector (batches, retries, lost
  replies, acks, health), with the two waits (settle, acks) in :mod:`.polling`;
* :mod:`.search`: :class:`SearchClient`, the management port (login, streamed export searches, the
  indexed-key check, server info);
* :mod:`.settings` (the connection's extras and the HEC options; ``settle_delay`` is resolved there),
  :mod:`.batches`, :mod:`.wire`, :mod:`.errors`: the data they share.

Neither client needs Airflow's ``BaseHook``: give it a session, a URL, the settings and credentials.
"""

from __future__ import annotations

from copydicom_provider.hooks.forms import SPLUNK_CONNECTION_TYPE
from copydicom_provider.hooks.splunk.batches import HecSendResult
from copydicom_provider.hooks.splunk.errors import (
    SplunkError,
    SplunkHecError,
    SplunkSearchError,
    SplunkSearchIncomplete,
)
from copydicom_provider.hooks.splunk.hec import HecClient
from copydicom_provider.hooks.splunk.hook import SplunkHook
from copydicom_provider.hooks.splunk.search import SearchClient
from copydicom_provider.hooks.splunk.settings import HecOptions, SplunkSettings
from copydicom_provider.hooks.splunk.wire import (
    BUSY_CODES,
    HEALTHY_CODE,
    RETRYABLE_STATUS,
    epoch_seconds,
    normalize_spl,
)

__all__ = [
    "BUSY_CODES",
    "HEALTHY_CODE",
    "RETRYABLE_STATUS",
    "SPLUNK_CONNECTION_TYPE",
    "HecClient",
    "HecOptions",
    "HecSendResult",
    "SearchClient",
    "SplunkError",
    "SplunkHecError",
    "SplunkHook",
    "SplunkSearchError",
    "SplunkSearchIncomplete",
    "SplunkSettings",
    "epoch_seconds",
    "normalize_spl",
]
