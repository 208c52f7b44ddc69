"""The CLI's server URLs: checked, completed with credentials from the environment, given connection settings.

Why: a URL is where a command line carries credentials, so every message about one quotes none of
it (a typo may hide where the password is), and every credential seen is remembered for :func:`scrub`.
Airflow (its config and secrets masker) is imported only when a credential is remembered or scrubbed, so
that the parser can check a URL (:func:`given_url`) before the command, and Airflow, is loaded.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from copydicom_provider.config import role_variable
from copydicom_provider.redaction import mask_whole, redact_text

log = logging.getLogger("copydicom_provider.cli")
#: Every credential the CLI has seen, scrubbed from anything it prints.
SEEN_SECRETS: set[str] = set()
URL_ROLES = {"src": ("http", "https"), "dest": ("http", "https"), "index": ("http", "https", "splunk")}
SPLUNK_TOKENS = ("hec_token", "token")
#: Characters that end a URL's authority: in a user or password they must be percent-encoded.
RESERVED = {"#": "%23", "?": "%3F", "/": "%2F", "@": "%40"}


def min_masked_length() -> int:
    """Airflow's rule for what its masker masks: secrets of at least ``[logging] min_length_masked_secret``
    characters (default 5; ``AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET``). :func:`scrub` follows it."""
    from airflow.configuration import conf

    return conf.getint("logging", "min_length_masked_secret", fallback=5)


def remember(secret: str) -> None:
    """Mask ``secret`` in log lines and scrub it from what the CLI prints (when long enough to be masked)."""
    from airflow.sdk.log import mask_secret

    SEEN_SECRETS.add(secret)
    if len(secret) >= min_masked_length():  # Airflow's masker warns about (and skips) shorter ones
        mask_secret(secret)


def check_url(url: str, option: str, schemes: tuple[str, ...]) -> None:
    """A clear error for a malformed URL that quotes none of it."""
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    expected = " or ".join(f"{s}://" for s in schemes)
    if not scheme:
        raise ValueError(f"{option}: not a URL: it must start with {expected} "
                         "(the scheme or '://' is missing or misspelt)")
    if scheme.group(1).lower() not in schemes:
        raise ValueError(f"{option}: the scheme must be {expected}")
    if found := _reserved_in_credentials(url[scheme.end():]):
        codes = ", ".join(f"{c} as {RESERVED[c]}" for c in found)
        raise ValueError(f"{option}: the user or password holds {' '.join(found)}, "
                         "which a URL reads as the end of its credentials: "
                         f"percent-encode it ({codes}), or leave it out of the URL and set the password in "
                         f"COPYDICOM_{option.lstrip('-').upper()}_PASSWORD")
    parts = urlsplit(url)
    try:
        _ = parts.port  # reading it checks it
    except ValueError:
        raise ValueError(f"{option}: the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError(f"{option}: the URL names no host")


def _reserved_in_credentials(rest: str) -> list[str]:
    """Characters in the user or password that cut the URL short (``u:Se#cret@host`` reads as host ``u``)."""
    userinfo, at, _ = rest.rpartition("@")
    if not at:
        return []
    first = re.split(r"[#?/]", userinfo, maxsplit=1)[0]
    if first != userinfo and ":" in first and first.rpartition(":")[2].isdigit():
        return []  # host:port, then a path or query that holds an '@'
    return [c for c in RESERVED if c in userinfo]


def given_url(value: str | None, role: str) -> str:
    """``--role``'s URL, or ``COPYDICOM_<ROLE>``, checked (:func:`check_url`); the error names both when neither is."""
    url = value or role_variable(role) or ""
    if not url:
        raise ValueError(f"--{role} is missing: give the URL, or set the environment variable COPYDICOM_{role.upper()}")
    check_url(url, f"--{role}", URL_ROLES[role])
    return url


def resolve_url(value: str | None, role: str) -> str:
    """``--role``'s URL, or ``COPYDICOM_<ROLE>``; credentials from the environment fill in what it lacks."""
    prefix = f"COPYDICOM_{role.upper()}"
    url = given_url(value, role)
    parts = urlsplit(url)
    if parts.password:
        remember(parts.password)
        if value:
            log.warning("--%s carries a password, which other users can see in the process list: "
                        "prefer %s_PASSWORD (or the whole URL in %s)", role, prefix, prefix)
    password = role_variable(role, "_PASSWORD")
    if password and not parts.password:
        user = parts.username or role_variable(role, "_USER")
        if not user:
            raise ValueError(f"{prefix}_PASSWORD is set but no user: set {prefix}_USER or put user@ in the URL")
        remember(password)
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}")
    if role == "index":
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        for name in SPLUNK_TOKENS:
            if query.get(name):
                remember(query[name])
            elif token := role_variable(role, f"_{name.upper()}"):
                remember(token)
                query[name] = token
        parts = parts._replace(query=urlencode(query))
    return urlunsplit(parts)


def with_settings(url: str, settings: dict[str, Any]) -> str:
    """``url`` with connection settings (``timeout``, ``verify``, ...) in its query, over the URL's own."""
    if not settings:
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({key: str(value).lower() if isinstance(value, bool) else str(value)
                  for key, value in settings.items()})
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def scrub(text: str) -> str:
    """What the CLI prints about a failure: no credential it has seen (standing whole, and long enough
    for Airflow's masker: :func:`mask_whole`), no URL userinfo (whatever its length)."""
    return redact_text(mask_whole(text, SEEN_SECRETS, min_masked_length()))
