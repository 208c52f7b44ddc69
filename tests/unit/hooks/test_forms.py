"""The ``splunk`` connection form: declared the way Airflow 3.3 reads it from get_provider_info."""

from __future__ import annotations

import importlib

import pytest

from copydicom_provider.compat import READS_PROVIDER_FORMS
from copydicom_provider.hooks.splunk import SPLUNK_CONNECTION_TYPE, SplunkHook, SplunkSettings

pytestmark = pytest.mark.timeout(120)


def test_connection_type_dict_has_airflows_shape():
    # Airflow imports the hook by this dotted name: it must stay the public path after the split into modules
    assert SPLUNK_CONNECTION_TYPE["hook-class-name"] == "copydicom_provider.hooks.splunk.SplunkHook"
    module, _, name = SPLUNK_CONNECTION_TYPE["hook-class-name"].rpartition(".")
    assert getattr(importlib.import_module(module), name) is SplunkHook
    assert SPLUNK_CONNECTION_TYPE["connection-type"] == SplunkHook.conn_type == "splunk"
    assert set(SPLUNK_CONNECTION_TYPE["ui-field-behaviour"]) == {"hidden-fields", "relabeling", "placeholders"}
    for name, field in SPLUNK_CONNECTION_TYPE["conn-fields"].items():
        assert field["label"] and "null" in field["schema"]["type"], name
    sensitive = {
        name for name, f in SPLUNK_CONNECTION_TYPE["conn-fields"].items() if f["schema"].get("format") == "password"
    }
    assert sensitive == {"hec_token", "token"}
    assert SPLUNK_CONNECTION_TYPE["conn-fields"]["hec_port"]["schema"]["default"] == 8088
    assert SPLUNK_CONNECTION_TYPE["conn-fields"]["sourcetype"]["schema"]["default"] == "_json"
    assert SPLUNK_CONNECTION_TYPE["conn-fields"]["settle_delay"]["schema"]["default"] == SplunkSettings().settle_delay


@pytest.mark.skipif(not READS_PROVIDER_FORMS, reason="Airflow 3.1 builds the form only in its UI, with stand-ins "
                    "for wtforms; tests/unit/hooks/test_forms_ui.py checks it there")
def test_airflow_registers_the_form_with_the_hec_token_masked():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    widgets = manager.connection_form_widgets
    assert widgets["extra__splunk__hec_token"].is_sensitive
    assert widgets["extra__splunk__token"].is_sensitive
    assert not widgets["extra__splunk__hec_port"].is_sensitive
    assert manager.field_behaviours["splunk"]["hidden_fields"] == ["schema"]
