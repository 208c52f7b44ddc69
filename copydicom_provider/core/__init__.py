"""Plain functions shared by the operators, the CLI and the library: enumerate, dedupe, copy, flatten.

Names are loaded on first use, so that ``copydicom_provider.core.flatten`` stays free of Airflow.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Candidates": "copydicom_provider.core.window",
    "Window": "copydicom_provider.core.window",
    "ReplicationSummary": "copydicom_provider.core.progress",
    "ReplicationFailed": "copydicom_provider.core.replication",
    "copy_candidates": "copydicom_provider.core.replication",
    "replicate": "copydicom_provider.core.replication",
    "replicate_tags": "copydicom_provider.core.tags",
    "conditional_replicate": "copydicom_provider.core.conditional",
    "AnonymizationProfile": "copydicom_provider.deid",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
