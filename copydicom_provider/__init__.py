"""copydicom-provider: replicate DICOM between Orthanc servers and index tags in Splunk, from Airflow.

The library: ``from copydicom_provider import replicate, replicate_tags, conditional_replicate``. Each job's
code lives in :mod:`copydicom_provider.jobs`; the Airflow hooks and operators in their sub-packages, as in
Airflow's own providers. Names are loaded on first use, so that importing the package stays free of Airflow.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Candidates": "copydicom_provider.jobs.candidates",
    "Window": "copydicom_provider.jobs.candidates",
    "ReplicationSummary": "copydicom_provider.jobs.summary",
    "TagsSummary": "copydicom_provider.jobs.summary",
    "ReplicationFailed": "copydicom_provider.jobs.replicate",
    "TagsFailed": "copydicom_provider.jobs.replicate_tags",
    "copy_candidates": "copydicom_provider.jobs.replicate",
    "replicate": "copydicom_provider.jobs.replicate",
    "replicate_tags": "copydicom_provider.jobs.replicate_tags",
    "conditional_replicate": "copydicom_provider.jobs.conditional_replicate",
    "AnonymizationProfile": "copydicom_provider.deid",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
