"""cli/refusals.py: where a credential came from, and which server of the command refused it."""

from __future__ import annotations

import pytest

from copydicom_provider.cli.refusals import credential_origins, with_fix
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.splunk import SplunkHecError

NAMES = [f"COPYDICOM_{role}{suffix}" for role in ("SRC", "DEST", "INDEX")
         for suffix in ("", "_USER", "_PASSWORD", "_HEC_TOKEN", "_TOKEN")]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_origins_tell_the_option_the_url_variable_and_the_credential_variables_apart(monkeypatch) -> None:
    monkeypatch.setenv("COPYDICOM_DEST", "http://u:pw-in-variable@research:8042")
    monkeypatch.setenv("COPYDICOM_INDEX_HEC_TOKEN", "token-in-variable")
    origins = credential_origins({"src": "http://u:pw@pacs:8042", "dest": None,
                                  "index": "https://splunk:8089?token=bearer-in-url"})
    assert origins == {"src": {"login": "url"}, "dest": {"login": "url-variable"},
                       "index": {"login": "", "hec_token": "variables", "token": "url"}}
    monkeypatch.setenv("COPYDICOM_SRC_PASSWORD", "pw")
    assert credential_origins({"src": "http://orthanc@pacs:8042"}) == {"src": {"login": "variables"}}


def test_the_refusing_server_is_told_by_its_address_and_other_refusals_keep_their_message() -> None:
    origins = credential_origins({"src": "http://a:pw@pacs:8042", "dest": "http://b:pw@pacs:8043/orthanc"})
    urls = {"src": "http://a:pw@pacs:8042?timeout=5", "dest": "http://b:pw@pacs:8043/orthanc"}
    refused = OrthancError("Orthanc at http://pacs:8043/orthanc refused the credentials (HTTP 401): "
                           "check the connection's login and password for GET /studies", status=401,
                           server="http://pacs:8043/orthanc")
    assert with_fix(refused, origins, urls) == (
        "Orthanc at http://pacs:8043/orthanc refused the credentials (HTTP 401) for GET /studies; the user and "
        "password in --dest's URL were refused: correct them, or leave them out of the URL and set "
        "COPYDICOM_DEST_USER and COPYDICOM_DEST_PASSWORD")
    forbidden = OrthancError("Orthanc at http://pacs:8042 forbids this request (HTTP 403)", status=403,
                             server="http://pacs:8042")
    assert with_fix(forbidden, origins, urls) == str(forbidden)
    hec = SplunkHecError("Splunk HEC at http://splunk:8088 refused the request (HTTP 401, code 2): Token is "
                         "required.", status=401, code=2)
    assert with_fix(hec, credential_origins({"index": "https://splunk:8089"}), {"index": "https://splunk:8089"}) == (
        "Splunk HEC at http://splunk:8088 refused the request (HTTP 401, code 2): Token is required; "
        "--index was given no HEC token: set COPYDICOM_INDEX_HEC_TOKEN")
