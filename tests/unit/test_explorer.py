"""Orthanc Explorer links: the page of a study or series, never with the credentials of the URL given."""

from __future__ import annotations

from copydicom_provider.explorer import explorer_url, without_credentials


def test_a_study_a_series_or_the_home_page():
    assert explorer_url("http://pacs:8042/") == "http://pacs:8042/app/explorer.html"
    assert explorer_url("http://pacs:8042", "abc") == "http://pacs:8042/app/explorer.html#study?uuid=abc"
    assert explorer_url("http://pacs:8042", "abc", series_id="def") == (
        "http://pacs:8042/app/explorer.html#series?uuid=def")


def test_credentials_in_the_url_are_left_out():
    assert without_credentials("https://user:p%40ss@pacs.example.org:8042/orthanc") == (
        "https://pacs.example.org:8042/orthanc")
    assert without_credentials("http://pacs:8042") == "http://pacs:8042"
    assert "secret" not in explorer_url("http://admin:secret@127.0.0.1:8042", "abc")
