"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

Airflow 3.2+ builds the connection form from ``connection-types`` here (``conn-fields`` and
``ui-field-behaviour``); the hooks' ``get_connection_form_widgets`` are ignored without Flask.
"""

from __future__ import annotations

from typing import Any

from copydicom_provider import __version__

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
            "description": "Check the server's certificate when the URL is https.",
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
    },
}


def _connection_types() -> list[dict[str, Any]]:
    types = [ORTHANC_CONNECTION_TYPE]
    try:
        from copydicom_provider.hooks.splunk import SPLUNK_CONNECTION_TYPE
    except ImportError:
        return types
    return [*types, SPLUNK_CONNECTION_TYPE]


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-copydicom",
        "name": "CopyDICOM",
        "description": "Replicate DICOM instances between Orthanc servers and index their tags in Splunk.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": "Orthanc", "external-doc-url": "https://orthanc.uclouvain.be/book/", "tags": ["software"]},
            {"integration-name": "Splunk", "external-doc-url": "https://docs.splunk.com/", "tags": ["software"]},
        ],
        "hooks": [
            {"integration-name": "Orthanc", "python-modules": ["copydicom_provider.hooks.orthanc"]},
            {"integration-name": "Splunk", "python-modules": ["copydicom_provider.hooks.splunk"]},
        ],
        "operators": [
            {"integration-name": "Orthanc", "python-modules": ["copydicom_provider.operators.replicate"]},
        ],
        "connection-types": _connection_types(),
    }
