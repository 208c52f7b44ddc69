"""The provider is found by Airflow itself through its entry point, with its connection types."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from copydicom_provider.compat import READS_PROVIDER_FORMS

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _airflow(*args: str) -> str:
    result = subprocess.run([AIRFLOW, *args], capture_output=True, text=True, env=os.environ, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_airflow_providers_list_shows_the_provider():
    assert "airflow-provider-copydicom" in _airflow("providers", "list")


def test_connection_types_and_form_fields_are_registered():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "airflow-provider-copydicom" in manager.providers
    hooks = manager.hooks
    assert hooks["orthanc"].hook_class_name == "copydicom_provider.hooks.orthanc.OrthancHook"
    assert hooks["orthanc"].connection_id_attribute_name == "orthanc_conn_id"
    if not READS_PROVIDER_FORMS:
        return  # Airflow 3.1's CLI lists no forms without Flask-AppBuilder; test_connection_forms_ui checks its UI
    behaviours = _airflow("providers", "behaviours")
    assert "orthanc" in behaviours
