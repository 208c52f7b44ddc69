"""Who a request to the Splunk-compatible test server (not Splunk) comes from.

HEC: ``Authorization: Splunk <token>``, or Basic with the token as password. Management:
``Authorization: Splunk <sessionKey>``, Basic, ``Bearer`` (the configured tokens) or the
``splunkd_<port>`` session cookie.
"""

from __future__ import annotations

import base64
from email.message import Message

from copydicom_provider.testing.splunk.store import SplunkState


def hec_credential(headers: Message) -> str | None:
    """The token of ``Authorization: Splunk <token>`` (or Basic with it as password); None if malformed."""
    scheme, _, credential = headers.get("Authorization", "").strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(credential).decode().partition(":")[2] or None
        except (ValueError, UnicodeDecodeError):
            return None
    return credential if scheme.lower() == "splunk" and credential else None


def mgmt_user(headers: Message, state: SplunkState) -> str | None:
    header = headers.get("Authorization", "").strip()
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    with state.lock:
        if scheme.lower() == "splunk" and credential in state.sessions:
            return state.sessions[credential]
        if scheme.lower() == "bearer" and credential in state.bearer_tokens:
            return "token-user"
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(credential).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return user if user and state.users.get(user) == password else None
        cookie = headers.get("Cookie", "")
        for part in cookie.split(";"):
            name, _, value = part.strip().partition("=")
            if name.startswith("splunkd_") and value in state.sessions:
                return state.sessions[value]
    return None
