"""Splunk: one Airflow hook for both of Splunk's ports, split by concern.

``copydicom_provider.hooks.splunk.SplunkHook`` stays the import path connection forms and users name.

* :mod:`.hook`: the connection (settings, secrets, pooled session) and the UI's connection test;
* :mod:`.hec`: sending over the HTTP Event Collector (batches, retries, lost replies, acks, health);
* :mod:`.search`: the management port (login, streamed export searches, the indexed-key check);
* :mod:`.batches`, :mod:`.settings`, :mod:`.wire`, :mod:`.errors`: the data they share.
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
from copydicom_provider.hooks.splunk.hook import SplunkHook
from copydicom_provider.hooks.splunk.settings import SplunkSettings
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
    "HecSendResult",
    "SplunkError",
    "SplunkHecError",
    "SplunkHook",
    "SplunkSearchError",
    "SplunkSearchIncomplete",
    "SplunkSettings",
    "epoch_seconds",
    "normalize_spl",
]
