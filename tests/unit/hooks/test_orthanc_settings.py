"""The ``orthanc`` connection read without a server: typed extras, a URL as a connection, the base URL."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import Connection

from copydicom_provider.hooks.orthanc_settings import (
    OrthancSettings,
    base_url,
    connection_from_url,
    verify_setting,
)


def test_extras_arrive_as_strings_and_are_typed():
    settings = OrthancSettings.from_extra({"timeout": "5", "max_parallel": "0", "extra__orthanc__verify": "no"})
    assert settings == OrthancSettings(verify=False, timeout=5.0, max_parallel=1, scheme="http")


def test_verify_takes_words_or_an_existing_ca_bundle(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert (verify_setting(None), verify_setting(""), verify_setting("off")) == (True, True, False)
    assert verify_setting(str(bundle)) == str(bundle)
    with pytest.raises(ValueError, match="is not a readable file"):
        verify_setting(str(tmp_path / "missing.pem"))


def test_a_url_becomes_a_connection_with_its_extras_and_path():
    connection = connection_from_url("https://me:p%40ss@pacs.example.org:8043/orthanc?max_parallel=8", "c", "orthanc")
    assert (connection.host, connection.port, connection.login, connection.password) == (
        "https://pacs.example.org", 8043, "me", "p@ss")
    assert connection.schema == "orthanc"
    assert json.loads(connection.extra) == {"max_parallel": "8"}
    assert base_url(connection, OrthancSettings()) == "https://pacs.example.org:8043/orthanc"


def test_a_url_that_is_not_http_is_refused_without_its_password():
    with pytest.raises(ValueError, match="Not an Orthanc URL") as raised:
        connection_from_url("ftp://me:secret-pw@host", "c", "orthanc")
    assert "secret-pw" not in str(raised.value)


def test_a_bare_host_takes_the_scheme_extra():
    connection = Connection(conn_id="c", conn_type="orthanc", host="pacs", port=8042)
    assert base_url(connection, OrthancSettings(scheme="https")) == "https://pacs:8042"
