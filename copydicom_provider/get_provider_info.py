"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

Airflow 3.2+ builds the connection form from ``connection-types`` here (``conn-fields`` and
``ui-field-behaviour``, defined in :mod:`copydicom_provider.hooks.forms`); the hooks'
``get_connection_form_widgets`` are ignored without Flask.
"""

from __future__ import annotations

from typing import Any

from copydicom_provider import __version__
from copydicom_provider.hooks.forms import ORTHANC_CONNECTION_TYPE, SPLUNK_CONNECTION_TYPE


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-copydicom",
        "name": "CopyDICOM",
        "description": "Replicate DICOM instances between Orthanc servers and index their tags in Splunk.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": "Orthanc", "external-doc-url": "https://orthanc.uclouvain.be/book/",
             "tags": ["software"]},
            {"integration-name": "Splunk", "external-doc-url": "https://docs.splunk.com/", "tags": ["software"]},
        ],
        "hooks": [
            {"integration-name": "Orthanc", "python-modules": ["copydicom_provider.hooks.orthanc"]},
            {"integration-name": "Splunk", "python-modules": ["copydicom_provider.hooks.splunk"]},
        ],
        "operators": [
            {"integration-name": "Orthanc", "python-modules": ["copydicom_provider.operators.replicate",
                                                             "copydicom_provider.operators.replicate_tags",
                                                             "copydicom_provider.operators.conditional_replicate"]},
        ],
        "triggers": [
            {"integration-name": "Orthanc", "python-modules": ["copydicom_provider.triggers.orthanc_changes"]},
        ],
        "extra-links": ["copydicom_provider.operators.links.OrthancExplorerLink"],
        "connection-types": [ORTHANC_CONNECTION_TYPE, SPLUNK_CONNECTION_TYPE],
    }
