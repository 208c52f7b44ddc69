"""The HTTP plumbing both ports of the Splunk-compatible test server (not Splunk) share.

Reading a request (chunked or not, gzip decoded), recording it, and the replies: a body with splunkd's
headers, a JSON body, or a dropped connection. The HEC and management handlers subclass it.
"""

from __future__ import annotations

import gzip
import json
import socket
import zlib
from http.server import BaseHTTPRequestHandler
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from copydicom_provider.testing.splunk.store import RecordedRequest, SplunkState


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Splunkd"
    sys_version = ""
    role = "mgmt"

    def address(self) -> tuple[str, int]:
        """The host and port this server listens on (the socket server types its address loosely)."""
        host, port = cast("tuple[str, int]", self.server.server_address)[:2]
        return host, port

    @property
    def state(self) -> SplunkState:
        return self.server.state  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle and delayed ACKs add 40 ms a reply.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- request plumbing
    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, body: bytes | str, content_type: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        # splunkd answers keep-alive even to "Connection: Close"; splunklib closes before reading otherwise.
        self.send_header("Connection", "Keep-Alive")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def reply_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.reply(status, json.dumps(payload, separators=(",", ":")), "application/json; charset=UTF-8", headers)

    def drop_connection(self) -> None:
        """Close the socket without a reply: the client sees the connection reset."""
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def dispatch(self) -> None:
        parts = urlsplit(self.path)
        raw_body = self.read_body()
        body = raw_body
        encoding = self.headers.get("Content-Encoding", "").lower()
        gzip_error = False
        if encoding == "gzip" and raw_body:
            try:
                body = gzip.decompress(raw_body)
            except (OSError, EOFError, zlib.error):
                gzip_error = True
        with self.state.lock:
            self.state.requests.append(
                RecordedRequest("hec" if parts.path.startswith("/services/collector") else "mgmt", self.command,
                                unquote(parts.path), parts.query, dict(self.headers.items()), raw_body, body)
            )
        self.handle_request(unquote(parts.path), parse_qs(parts.query, keep_blank_values=True), body, encoding,
                            gzip_error)

    do_GET = do_POST = do_DELETE = do_HEAD = do_PUT = lambda self: self.dispatch()

    def handle_request(
        self, path: str, query: dict[str, list[str]], body: bytes, encoding: str, gzip_error: bool
    ) -> None:
        raise NotImplementedError
