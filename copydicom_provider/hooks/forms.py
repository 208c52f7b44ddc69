"""The connection forms of this provider's connection types, as Airflow 3.2+ reads them.

Kept free of Airflow imports: importing Airflow can start the providers manager, which calls
``get_provider_info()``, which reads these dicts; a hook module would then be half-imported.

Airflow 3.1 reads no ``conn-fields``: its UI asks the hooks' ``get_connection_form_widgets()``
(with stand-ins for wtforms and Flask-AppBuilder, which it does not install). The hooks answer with
:func:`form_widgets`, built from the same dicts, so both versions show one form.
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


def field_behaviour(connection_type: dict[str, Any]) -> dict[str, Any]:
    """``ui-field-behaviour`` as Airflow < 3.2's ``get_ui_field_behaviour()`` returns it (``hidden_fields``)."""
    return {key.replace("-", "_"): value for key, value in connection_type["ui-field-behaviour"].items()}


def form_widgets(connection_type: dict[str, Any]) -> dict[str, Any]:
    """wtforms fields for Airflow < 3.2, one per ``conn-fields`` entry (same label, help, default).

    Imports wtforms when called: Airflow 3.1 calls this with its own stand-ins in place; Airflow
    3.2+ never calls it (it reads ``conn-fields``). Numbers without a wtforms stand-in (floats)
    become text fields; the hooks read numbers given as text.
    """
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import BooleanField, IntegerField, PasswordField, StringField
    from wtforms.validators import Optional, any_of

    widgets: dict[str, Any] = {}
    for name, spec in connection_type["conn-fields"].items():
        schema = spec["schema"]
        kind = next(t for t in _types(schema) if t != "null")
        label, description, default = lazy_gettext(spec["label"]), spec.get("description", ""), schema.get("default")
        if schema.get("format") == "password":
            widgets[name] = PasswordField(label, widget=BS3PasswordFieldWidget(), description=description)
        elif kind == "boolean":
            widgets[name] = BooleanField(label, default=default, description=description)
        elif kind == "integer":
            widgets[name] = IntegerField(label, validators=[Optional()], widget=BS3TextFieldWidget(),
                                         description=description, default=default)
        else:
            validators = [Optional()] + ([any_of(schema["enum"])] if "enum" in schema else [])
            widgets[name] = StringField(label, validators=validators, widget=BS3TextFieldWidget(),
                                        description=description, default=None if default is None else str(default))
    return widgets


def _types(schema: dict[str, Any]) -> list[str]:
    kinds = schema.get("type", "string")
    return [kinds] if isinstance(kinds, str) else list(kinds)
