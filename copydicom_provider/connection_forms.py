"""The connection forms of this provider's connection types, as Airflow 3.2+ reads them.

Kept free of Airflow imports: importing Airflow can start the providers manager, which calls
``get_provider_info()``, which reads these dicts; a hook module would then be half-imported.
"""

from __future__ import annotations

from typing import Any

#: The extra holding a destination's pseudonym key. Airflow masks extra fields by name (in its UI, API
#: and logs, for names holding "secret", "password", "token", ...): ``pseudonym_key`` would show in clear.
PSEUDONYM_FIELD = "pseudonym_secret"
LEGACY_PSEUDONYM_FIELD = "pseudonym_key"

ORTHANC_CONNECTION_TYPE: dict[str, Any] = {
    "hook-class-name": "copydicom_provider.hooks.orthanc.OrthancHook",
    "hook-name": "Orthanc",
    "connection-type": "orthanc",
    "ui-field-behaviour": {
        "hidden-fields": ["schema"],
        "relabeling": {"host": "Orthanc URL or host", "login": "Username"},
        "placeholders": {
            "host": "http://orthanc.example.org",
            "port": "8042",
            "login": "orthanc",
            "extra": '{"verify": true, "timeout": 60, "max_parallel": 4}',
        },
    },
    "conn-fields": {
        "verify": {
            "label": "Verify TLS certificate",
            "description": "Check the server's certificate when the URL is https. In the extra JSON, verify may "
                           "also be the path of a CA bundle (a private CA), which is then used.",
            "schema": {"type": ["boolean", "null"], "default": True},
        },
        "timeout": {
            "label": "Timeout (seconds)",
            "description": "Per-request timeout for Orthanc's REST API.",
            "schema": {"type": ["number", "null"], "default": 60},
        },
        "max_parallel": {
            "label": "Max parallel requests",
            "description": "Upper bound on concurrent requests this connection sends to the server.",
            "schema": {"type": ["integer", "null"], "default": 4, "minimum": 1},
        },
        "scheme": {
            "label": "Scheme",
            "description": "http or https, when the host field holds no scheme.",
            "schema": {"type": ["string", "null"], "default": "http", "enum": ["http", "https"]},
        },
        "peer_url": {
            "label": "URL as the source sees it (peer mode)",
            "description": "How a source Orthanc reaches this server when it pushes to it (mode=peer); "
                           "default: the URL above.",
            "schema": {"type": ["string", "null"]},
        },
        "retain_device_identity": {
            "label": "De-identified copies keep device identity",
            "description": "For a research destination: keep station name and device serial in de-identified "
                           "copies (dose audits per scanner), also in runs nobody started by hand.",
            "schema": {"type": ["boolean", "null"], "default": False},
        },
        PSEUDONYM_FIELD: {
            "label": "Pseudonym key",
            "description": "Secret that keys the pseudonyms, UIDs and date shifts of de-identified copies sent to "
                           "this server (keep it stable: a new key makes new pseudonyms). Masked like a password.",
            "schema": {"type": ["string", "null"], "format": "password"},
        },
    },
}


SPLUNK_CONNECTION_TYPE: dict[str, Any] = {
    "hook-class-name": "copydicom_provider.hooks.splunk.SplunkHook",
    "hook-name": "Splunk",
    "connection-type": "splunk",
    "ui-field-behaviour": {
        "hidden-fields": ["schema"],
        "relabeling": {
            "host": "Splunk host",
            "port": "Management port",
            "login": "Username (search)",
            "password": "Password (search)",
        },
        "placeholders": {
            "host": "splunk.example.org",
            "port": "8089",
            "login": "svc_copydicom",
            "extra": '{"hec_port": 8088, "index": "dicom", "sourcetype": "_json", "ack": false}',
        },
    },
    "conn-fields": {
        "hec_token": {
            "label": "HEC token",
            "description": "HTTP Event Collector token used to send events (kept secret).",
            "schema": {"type": ["string", "null"], "format": "password"},
        },
        "hec_port": {
            "label": "HEC port",
            "description": "Port of the HTTP Event Collector.",
            "schema": {"type": ["integer", "null"], "default": 8088, "minimum": 1, "maximum": 65535},
        },
        "hec_host": {
            "label": "HEC host",
            "description": "HTTP Event Collector host when it is not the management host (e.g. a load balancer).",
            "schema": {"type": ["string", "null"]},
        },
        "token": {
            "label": "Bearer token (search)",
            "description": "Splunk authentication token for searches, instead of username and password (kept secret).",
            "schema": {"type": ["string", "null"], "format": "password"},
        },
        "scheme": {
            "label": "Scheme",
            "description": "http or https, for both ports (Splunk's default is https).",
            "schema": {"type": ["string", "null"], "default": "https", "enum": ["https", "http"]},
        },
        "verify": {
            "label": "Verify TLS certificate",
            "description": "Check the server certificates when the scheme is https.",
            "schema": {"type": ["boolean", "null"], "default": True},
        },
        "index": {
            "label": "Default index",
            "description": "Index for events that do not name one (otherwise the token's default index).",
            "schema": {"type": ["string", "null"]},
        },
        "sourcetype": {
            "label": "Default sourcetype",
            "description": "_json makes Splunk extract the events' JSON fields at search time.",
            "schema": {"type": ["string", "null"], "default": "_json"},
        },
        "timeout": {
            "label": "Timeout (seconds)",
            "description": "Per-request timeout on both ports.",
            "schema": {"type": ["number", "null"], "default": 30, "minimum": 1},
        },
        "ack": {
            "label": "Indexer acknowledgement",
            "description": "Wait until Splunk confirms every batch as indexed (the HEC token must have useACK on).",
            "schema": {"type": ["boolean", "null"], "default": False},
        },
        "settle_delay": {
            "label": "Settle delay (seconds)",
            "description": "After a lost HEC reply, how long to look for the batch in the index before resending "
            "what is missing: longer than Splunk's indexing lag, so nothing is indexed twice.",
            "schema": {"type": ["number", "null"], "default": 10, "minimum": 0},
        },
    },
}
