"""The replies of the management port of the Splunk-compatible test server (not Splunk): messages and Atom
entries, in XML or, with ``output_mode=json``, JSON, as splunkd writes them."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from copydicom_provider.testing.splunk.http_base import RequestHandler

XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
ATOM_NS = 'xmlns="http://www.w3.org/2005/Atom" xmlns:s="http://dev.splunk.com/ns/rest" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'


def xml_value(value: Any) -> str:
    if isinstance(value, dict):
        keys = "".join(f"<s:key name={quoteattr(k)}>{xml_value(v)}</s:key>" for k, v in value.items())
        return f"<s:dict>{keys}</s:dict>"
    if isinstance(value, list):
        return "<s:list>" + "".join(f"<s:item>{xml_value(v)}</s:item>" for v in value) + "</s:list>"
    return escape(str(value))


def atom_updated(epoch: float | None = None) -> str:
    return datetime.fromtimestamp(epoch or time.time(), tz=timezone.utc).isoformat(timespec="seconds")


class ManagementHandler(RequestHandler):
    """A management request's replies; ``output_mode`` is set from the request before any reply."""

    role = "mgmt"
    output_mode = "xml"

    def messages(self, status: int, msg_type: str, text: str) -> None:
        if self.output_mode == "json":
            return self.reply_json(status, {"messages": [{"type": msg_type, "text": text}]})
        body = (f'{XML_HEAD}<response>\n  <messages>\n    <msg type="{msg_type}">{escape(text)}</msg>\n'
                '  </messages>\n</response>\n')
        self.reply(status, body, "text/xml; charset=UTF-8")

    def entry_reply(self, name: str, href: str, content: dict[str, Any], *, feed: bool) -> None:
        updated = atom_updated()
        if self.output_mode == "json":
            payload = {
                "links": {}, "origin": f"{self.origin()}{href}", "updated": updated,
                "generator": {"build": "test", "version": self.state.version},
                "entry": [{"name": name, "id": f"{self.origin()}{href}", "updated": updated,
                           "links": {"alternate": href}, "author": "system", "acl": {}, "content": content}],
                "paging": {"total": 1, "perPage": 30, "offset": 0}, "messages": [],
            }
            return self.reply_json(200, payload)
        entry = (
            f"<entry>\n  <title>{escape(name)}</title>\n  <id>{self.origin()}{href}</id>\n"
            f"  <updated>{updated}</updated>\n"
            f'  <link href="{href}" rel="alternate"/>\n  <author>\n    <name>system</name>\n  </author>\n'
            f'  <content type="text/xml">\n    {xml_value(content)}\n  </content>\n</entry>\n'
        )
        if feed:
            body = (
                f"{XML_HEAD}<feed {ATOM_NS}>\n<title>{escape(name)}</title>\n<id>{self.origin()}{href}</id>\n"
                f'<updated>{updated}</updated>\n<generator build="test" version="{self.state.version}"/>\n'
                f"<author>\n<name>Splunk</name>\n</author>\n<opensearch:totalResults>1</opensearch:totalResults>\n"
                f"<opensearch:itemsPerPage>30</opensearch:itemsPerPage>\n<opensearch:startIndex>0</opensearch:startIndex>\n"
                f"<s:messages/>\n{entry}</feed>\n"
            )
        else:
            body = XML_HEAD + entry.replace("<entry>", f"<entry {ATOM_NS}>", 1)
        self.reply(200, body, "text/xml; charset=UTF-8")

    def origin(self) -> str:
        host, port = self.address()
        return f"http://{host}:{port}"
