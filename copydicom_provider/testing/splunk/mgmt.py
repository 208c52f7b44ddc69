"""The management port of the Splunk-compatible test server (not Splunk): routing, login and server info.

Also under ``/servicesNS/{owner}/{app}/``: ``POST /services/auth/login`` (XML or JSON session key,
optional ``splunkd_<port>`` cookie), ``GET /services/server/info`` and the search jobs.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qs

from copydicom_provider.testing.splunk.auth import mgmt_user
from copydicom_provider.testing.splunk.mgmt_base import XML_HEAD
from copydicom_provider.testing.splunk.search_jobs import SearchJobsHandler

_NS = re.compile(r"^/servicesNS/[^/]+/[^/]+/")


class MgmtHandler(SearchJobsHandler):
    """A request to the management port."""

    def handle_request(
        self, path: str, query: dict[str, list[str]], body: bytes, encoding: str, gzip_error: bool
    ) -> None:
        params = {k: v[-1] for k, v in query.items()}
        if body and "x-www-form-urlencoded" in self.headers.get("Content-Type", "x-www-form-urlencoded"):
            form = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})
        path = _NS.sub("/services/", path).rstrip("/")
        self.output_mode = params.get("output_mode", "xml").lower()
        if path == "/services/auth/login" and self.command == "POST":
            return self._login(params)
        user = mgmt_user(self.headers, self.state)
        if user is None:
            return self.messages(401, "WARN", "call not properly authenticated")
        if path == "/services/server/info" and self.command in {"GET", "HEAD"}:
            return self._server_info()
        match = re.fullmatch(r"/services/search(?:/v2)?/jobs(?:/(?P<sid>[^/]+))?(?:/(?P<sub>[^/]+))?", path)
        if match:
            return self.jobs(match["sid"], match["sub"], params, user)
        return self.messages(404, "ERROR", "Not Found")

    # -- auth
    def _login(self, params: dict[str, str]) -> None:
        username, password = params.get("username", ""), params.get("password", "")
        if not username or self.state.users.get(username) != password:
            if self.output_mode == "json":
                return self.reply_json(401, {"messages": [{"type": "WARN", "code": "incorrect_username_or_password",
                                                      "text": "Login failed"}]})
            body = (f'{XML_HEAD}<response>\n  <messages>\n'
                    '    <msg type="WARN" code="incorrect_username_or_password">Login failed</msg>\n'
                    '  </messages>\n</response>\n')
            return self.reply(401, body, "text/xml; charset=UTF-8")
        key = secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.sessions[key] = username
        headers = {}
        if params.get("cookie") == "1":
            headers["Set-Cookie"] = f"splunkd_{self.address()[1]}={key}; Path=/; HttpOnly; Max-Age=3600"
        if self.output_mode == "json":
            return self.reply_json(200, {"sessionKey": key}, headers)
        body = f"{XML_HEAD}<response>\n  <sessionKey>{key}</sessionKey>\n</response>\n"
        self.reply(200, body, "text/xml; charset=UTF-8", headers)

    def _server_info(self) -> None:
        state = self.state
        content = {
            "build": "test", "cpu_arch": "x86_64", "guid": "00000000-0000-0000-0000-000000000000",
            "isFree": "0", "isTrial": "0", "mode": "normal", "os_name": "Linux",
            "product_type": "enterprise", "serverName": state.server_name, "version": state.version,
        }
        self.entry_reply("server-info", "/services/server/info/server-info", content, feed=True)
