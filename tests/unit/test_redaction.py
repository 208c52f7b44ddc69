"""Credentials taken out of URLs and command lines without parsing them, and known secrets masked whole."""

from __future__ import annotations

import pytest

from copydicom_provider.redaction import mask_whole, redact_text, redact_url


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("http://user:PW@pacs:8042/studies", "http://***@pacs:8042/studies"),
        ("postgres://u:pw@db/x?sslmode=require", "postgres://***@db/x?sslmode=require"),
        ("http//user:PW@pacs:8042", "***@pacs:8042"),  # a typo'd scheme is no scheme: all before @ goes
        ("http:/user:PW@pacs:8042", "http:/***@pacs:8042"),
        ("user:PW@pacs:8042", "***@pacs:8042"),
        ("http://user:p@ss@pacs", "http://***@pacs"),  # up to the last @: an @ in the password too
        ("http://user@pacs", "http://***@pacs"),
    ],
)
def test_everything_before_the_last_at_of_a_word_is_credentials(text, redacted):
    assert redact_text(text) == redacted
    assert redact_url(text) == redacted


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("https://splunk:8089?index=dicom&token=abc123", "https://splunk:8089?index=dicom&token=***"),
        ("https://h/?hec_token=abc&index=x", "https://h/?hec_token=***&index=x"),
        ("https://h/?Password=a@b", "https://h/?Password=***"),
        ("--api-key=xyz --verbose", "--api-key=*** --verbose"),
        ("passwd=1 client_secret=2 auth=3", "passwd=*** client_secret=*** auth=***"),
    ],
)
def test_values_of_secret_queries_and_options_are_replaced(text, redacted):
    assert redact_text(text) == redacted


def test_each_word_of_a_message_is_redacted_on_its_own():
    message = "cannot reach 'http://u:pw@pacs:8042' nor \"http://v:pw2@other\" (index=dicom)"
    assert redact_text(message) == "cannot reach 'http://***@pacs:8042' nor \"http://***@other\" (index=dicom)"


def test_a_password_with_a_quote_in_it_is_hidden_whole():
    assert redact_text("cannot reach http://admin:ab'cd@pacs:8042") == "cannot reach http://***@pacs:8042"


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("unrecognized arguments: --dest-password hunter2", "unrecognized arguments: --dest-password ***"),
        ("--index-hec-token  t0k3n --verify", "--index-hec-token  *** --verify"),
        ("--password --verify", "--password --verify"),  # no value: the next word is an option
        ("--max-parallel 8", "--max-parallel 8"),
    ],
)
def test_an_option_whose_name_says_secret_hides_the_word_after_it(text, redacted):
    assert redact_text(text) == redacted


@pytest.mark.parametrize("text", ["http://pacs:8042/studies?index=dicom", "no url at all", ""])
def test_text_without_credentials_is_unchanged(text):
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secrets", "min_length", "masked"),
    [
        ("login hunter2 failed", ["hunter2"], 4, "login *** failed"),
        ("hunter2. (hunter2)", ["hunter2"], 4, "***. (***)"),
        ("xhunter2 hunter2y", ["hunter2"], 4, "xhunter2 hunter2y"),  # never inside a longer word
        ("password st: nothing listens on that host and port", ["st"], 2,
         "password ***: nothing listens on that host and port"),
        ("st", ["st"], 3, "st"),  # shorter than asked: not masked
        ("pass word and word", ["word", "pass word"], 2, "*** and ***"),  # the longest first
        # an edge that is a word character must stand alone; one that is not binds nothing
        ("p@ss!x and xp@ss!", ["p@ss!"], 2, "***x and xp@ss!"),
        ("a+b=c", ["a+b"], 2, "***=c"),  # regex characters are literal
        ("abc", [""], 0, "abc"),  # an empty secret masks nothing
    ],
)
def test_mask_whole(text, secrets, min_length, masked):
    assert mask_whole(text, secrets, min_length) == masked
