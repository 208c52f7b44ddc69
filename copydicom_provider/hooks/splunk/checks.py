"""The UI's Test button for a Splunk connection: is each port there, and does it take our credentials.

Why apart from the clients: a check reads replies the way a person fixing a connection needs them
(which side failed, and how), never sends an event, and is used only by
:meth:`~copydicom_provider.hooks.splunk.SplunkHook.test_connection`.
"""

from __future__ import annotations

import requests

from copydicom_provider.hooks.splunk.errors import SplunkError, SplunkHecError
from copydicom_provider.hooks.splunk.hec import HecClient
from copydicom_provider.hooks.splunk.search import SearchClient
from copydicom_provider.hooks.splunk.wire import (
    HEALTHY_CODE,
    NO_DATA_CODE,
    TOKEN_REFUSED_CODES,
    code_part,
    first_line,
    hec_text,
    json_reply,
)


def check_hec(hec: HecClient, session: requests.Session, has_token: bool) -> tuple[bool, str]:
    """HEC health with the token, then an empty body, which Splunk refuses as "No data" only for a good token."""
    try:
        health = hec.health()
    except SplunkHecError as exc:
        return False, f"HEC: {exc}"
    url = hec.url
    if health["code"] in TOKEN_REFUSED_CODES:
        return False, (f"HEC at {url} refused the token (HTTP {health['status']}, code {health['code']}): "
                       f"{health['text']}")
    if health["status"] != 200 or health["code"] != HEALTHY_CODE:
        return False, f"HEC at {url} is not healthy (HTTP {health['status']}): {health['text']}"
    if not has_token:
        return False, f"HEC at {url} is healthy, but the connection has no HEC token"
    # An empty body is refused with "No data" only after the token was accepted: nothing is indexed.
    try:
        response = session.post(f"{url}/services/collector/event", data=b"", headers=hec.headers(False),
                                timeout=hec.settings.timeout)
    except (requests.ConnectionError, requests.Timeout) as exc:
        return False, f"HEC at {url} is unreachable: {first_line(exc)}"
    reply = json_reply(response)
    if reply.get("code") in {NO_DATA_CODE, 0}:
        return True, f"HEC at {url} is healthy and accepts the token"
    status = f"HTTP {response.status_code}{code_part(reply.get('code'))}"
    return False, f"HEC at {url} refused the token ({status}): {hec_text(response, reply)}"


def check_management(search: SearchClient) -> tuple[bool, str]:
    """An authenticated ``server/info`` call: the version and server name, or Splunk's refusal."""
    try:
        info = search.server_info()
    except SplunkError as exc:
        return False, f"management: {exc}"
    return True, f"management at {search.url}: Splunk {info.get('version', '?')} ({info.get('serverName', '?')})"
