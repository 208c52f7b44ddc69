"""The orthanc and splunk connection forms as the UI gets them, on every supported Airflow.

Airflow 3.2+ reads ``conn-fields`` from ``get_provider_info()``; Airflow 3.1 asks the hooks'
``get_connection_form_widgets()``. Both end in the api-server's ``/ui/connections/hook_meta``,
built by ``HookMetaService``; it runs here in a fresh process, as in a fresh api-server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from copydicom_provider.hooks.forms import ORTHANC_CONNECTION_TYPE, SPLUNK_CONNECTION_TYPE

pytestmark = pytest.mark.timeout(180)

HOOK_META = """
import json
from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService
print(json.dumps([m.model_dump(mode="json") for m in HookMetaService.hook_meta_data()]))
"""


@pytest.fixture(scope="module")
def hook_meta() -> dict[str, dict]:
    result = subprocess.run([sys.executable, "-c", HOOK_META], capture_output=True, text=True, env=os.environ,
                            timeout=150)
    assert result.returncode == 0, result.stderr[-3000:]
    return {meta["connection_type"]: meta for meta in json.loads(result.stdout.strip().splitlines()[-1])}


@pytest.mark.parametrize("declared", [ORTHANC_CONNECTION_TYPE, SPLUNK_CONNECTION_TYPE], ids=["orthanc", "splunk"])
def test_the_form_shows_every_declared_field_with_its_label(hook_meta, declared):
    meta = hook_meta[declared["connection-type"]]
    assert meta["hook_class_name"] == declared["hook-class-name"]
    fields = meta["extra_fields"] or {}
    assert set(fields) == set(declared["conn-fields"])
    for name, spec in declared["conn-fields"].items():
        assert fields[name]["schema"]["title"] == spec["label"], name
        assert fields[name]["description"] == spec["description"], name
    standard = meta["standard_fields"]
    assert standard["url_schema"]["hidden"] is True
    assert standard["host"]["title"] == declared["ui-field-behaviour"]["relabeling"]["host"]


def test_tokens_are_password_fields_and_defaults_carry_over(hook_meta):
    splunk = hook_meta["splunk"]["extra_fields"]
    assert {name for name, f in splunk.items() if f["schema"].get("format") == "password"} == {"hec_token", "token"}
    assert splunk["scheme"]["schema"]["enum"][:2] == ["https", "http"]
    assert str(splunk["hec_port"]["value"]) == "8088"
    orthanc = hook_meta["orthanc"]["extra_fields"]
    assert orthanc["verify"]["value"] is True
    assert "boolean" in orthanc["verify"]["schema"]["type"]
