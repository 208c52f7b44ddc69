"""Search jobs on the management port of the Splunk-compatible test server (not Splunk).

``/services/search/jobs`` and ``/services/search/v2/jobs``: create (``exec_mode`` normal, blocking,
oneshot), job status, ``results``/``results_preview``/``events``, ``control``, ``DELETE``, and
``export`` (streamed JSON lines or XML). Results are newest first; transforming searches stream
preview rows first.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from copydicom_provider.testing.splunk.faults import SEARCHES_FULL_TEXT, peer_down_text
from copydicom_provider.testing.splunk.mgmt_base import XML_HEAD, ManagementHandler, atom_updated
from copydicom_provider.testing.splunk.result_formats import json_lines, with_messages, xml_results, xml_stream
from copydicom_provider.testing.splunk.search_events import event_row, matching, peer_down
from copydicom_provider.testing.splunk.spl_errors import SearchError
from copydicom_provider.testing.splunk.spl_pipeline import ParsedSearch, parse_spl, run_pipeline
from copydicom_provider.testing.splunk.spl_terms import format_number
from copydicom_provider.testing.splunk.spl_time import request_time, time_bounds
from copydicom_provider.testing.splunk.spl_tstats import run_tstats
from copydicom_provider.testing.splunk.store import SearchJob


class SearchJobsHandler(ManagementHandler):
    """The search endpoints of a management request (``search_messages``: what Splunk says of the last search)."""



    def jobs(self, sid: str | None, sub: str | None, params: dict[str, str], user: str) -> None:
        if sid in {None, "export"} and sub is None:
            with self.state.lock:
                refused = self.state.faults.search_refused_remaining > 0
                self.state.faults.search_refused_remaining -= refused
            if refused:
                return self.messages(503, "WARN", SEARCHES_FULL_TEXT)
        if sid == "export" and sub is None:
            if self.command not in {"GET", "POST"}:
                return self.messages(405, "ERROR", "Method Not Allowed")
            return self._export(params)
        if sid is None:
            if self.command != "POST":
                return self.messages(405, "ERROR", "Listing search jobs is not implemented by the Splunk test server")
            return self._create(params, user)
        with self.state.lock:
            job = self.state.jobs.get(sid)
        if job is None:
            return self.messages(404, "FATAL", "Unknown sid.")
        if sub is None:
            if self.command == "DELETE":
                with self.state.lock:
                    self.state.jobs.pop(sid, None)
                return self.messages(200, "INFO", "Search job cancelled.")
            return self._job_status(job)
        if sub in {"results", "results_preview", "events"}:
            return self._results(job, params)
        if sub == "control" and self.command == "POST":
            action = params.get("action", "")
            if action == "cancel":
                with self.state.lock:
                    self.state.jobs.pop(sid, None)
                return self.messages(200, "INFO", "Search job cancelled.")
            if action in {"finalize", "pause", "unpause", "touch", "enablepreview", "disablepreview"}:
                done = f"Search job {action}d." if action.endswith("e") else f"Search job {action}ed."
                return self.messages(200, "INFO", done)
            return self.messages(400, "ERROR", f"Unknown action: {action}")
        return self.messages(404, "ERROR", "Not Found")

    def _evaluate(self, params: dict[str, str]) -> tuple[ParsedSearch, Iterator[dict[str, Any]]]:
        """Parse and run a search; ``self.search_messages`` gets what Splunk would say about it."""
        now = time.time()
        query = params.get("search")
        self.search_messages: list[dict[str, str]] = []
        if query is None or not query.strip():
            raise SearchError("Empty search.")
        parsed = parse_spl(query, now)
        down = peer_down(self.state)
        if down is not None:  # Splunk answers with the other peers' events and says so
            text = self.state.faults.partial_text or peer_down_text(down)
            self.search_messages.append({"type": "WARN", "text": text})
        earliest, latest = time_bounds(parsed.filter.earliest, parsed.filter.latest, params, now)
        # Splunk's index-time bounds (_indextime)
        indexed = [request_time(params, name, now) for name in ("index_earliest", "index_latest")]
        events = matching(self.state, parsed.filter, earliest, latest, *indexed, tstats=parsed.tstats is not None,
                                down=down)
        if parsed.tstats is not None:
            rows = run_tstats(parsed.tstats, events, format_number)
        else:
            rows = (event_row(self.state, event) for event in events)
        return parsed, run_pipeline(rows, parsed.commands)

    def _search_error(self, error: SearchError) -> None:
        self.messages(error.status, error.msg_type, error.text)

    def _create(self, params: dict[str, str], user: str) -> None:
        exec_mode = params.get("exec_mode", "normal").lower()
        if exec_mode not in {"normal", "blocking", "oneshot"}:
            return self.messages(400, "ERROR", f"Argument exec_mode has invalid value: {exec_mode}")
        try:
            parsed, rows = self._evaluate(params)
            rows_list = list(rows)
        except SearchError as error:
            return self._search_error(error)
        if exec_mode == "oneshot":
            return self._results_reply(rows_list, params, default_count=int(params.get("count", 100) or 0),
                                       messages=self.search_messages)
        with self.state.lock:
            sid = f"{time.time():.2f}_{len(self.state.jobs) + 1}"
            self.state.jobs[sid] = SearchJob(sid, params["search"], rows_list, parsed.transforming, user, time.time(),
                                             self.search_messages)
        if self.output_mode == "json":
            return self.reply_json(201, {"sid": sid})
        self.reply(201, f"{XML_HEAD}<response>\n  <sid>{sid}</sid>\n</response>\n", "text/xml; charset=UTF-8")

    def _job_status(self, job: SearchJob) -> None:
        count = str(len(job.rows))
        content = {
            "sid": job.sid, "dispatchState": "DONE", "isDone": "1", "isFailed": "0", "isFinalized": "0",
            "isPaused": "0", "isPreviewEnabled": "0", "isSaved": "0", "isZombie": "0", "doneProgress": "1.00000",
            "resultCount": count, "eventCount": "0" if job.transforming else count,
            "scanCount": count, "eventAvailableCount": count, "resultIsStreaming": "0" if job.transforming else "1",
            "reportSearch": job.search if job.transforming else "", "eventSearch": job.search,
            "published": atom_updated(job.published), "runDuration": "0.001", "ttl": "600",
            "label": "", "delegate": "", "request": {"search": job.search},
            "eai:acl": {
                "app": "search", "can_write": "1", "modifiable": "1", "owner": job.owner,
                "perms": {"read": [job.owner], "write": [job.owner]}, "sharing": "global", "ttl": "600",
            },
        }
        self.entry_reply(job.search, f"/services/search/jobs/{job.sid}", content, feed=False)

    def _results(self, job: SearchJob, params: dict[str, str]) -> None:
        self._results_reply(job.rows, params, default_count=100, messages=job.messages)

    def _results_reply(self, rows: list[dict[str, Any]], params: dict[str, str], default_count: int,
                       messages: Sequence[dict[str, str]] = ()) -> None:
        """``results``: one document, paged by ``offset``/``count`` (default 100 as in Splunk, 0 = all)."""
        offset = int(params.get("offset", 0) or 0)
        count = int(params.get("count", default_count) or 0)
        page = rows[offset : offset + count] if count > 0 else rows[offset:]
        names: list[str] = []
        for row in page:
            names.extend(k for k in row if k not in names)
        if self.output_mode == "json":
            payload = {"preview": False, "init_offset": offset, "messages": list(messages),
                       "fields": [{"name": n} for n in names], "results": page}
            return self.reply_json(200, payload)
        if self.output_mode in {"xml", "atom"}:
            return self.reply(200, "".join(xml_results(page, names, offset)), "text/xml; charset=UTF-8")
        return self.messages(400, "ERROR",
                                  f"output_mode={self.output_mode} is not implemented by the Splunk test server")

    def _export(self, params: dict[str, str]) -> None:
        """Streamed results: JSON lines ``{"preview":false,"offset":N,"result":{...}}``, last with ``lastrow``."""
        if self.output_mode not in {"json", "xml"}:
            return self.messages(400, "ERROR",
                                  f"output_mode={self.output_mode} is not implemented by the Splunk test server")
        try:
            parsed, rows = self._evaluate(params)
            if parsed.transforming:  # Splunk streams preview rows of a transforming search before the final ones
                final = list(rows)
                rows = iter(final)
            first = next(rows, None)
        except SearchError as error:
            return self._search_error(error)
        with self.state.lock:
            messages, self.state.export_messages = self.state.export_messages, []
        messages += [(0, m["type"], m["text"]) for m in self.search_messages]
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=UTF-8" if self.output_mode == "json"
                         else "text/xml; charset=UTF-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "Keep-Alive")
        self.end_headers()
        if self.output_mode == "json":
            preview = final if parsed.transforming else []
            chunks = with_messages(json_lines(first, rows, preview), messages)
        else:
            chunks = xml_stream(first, rows)
        buffer: list[str] = []
        size = 0
        try:
            for piece in chunks:
                buffer.append(piece)
                size += len(piece)
                if size >= 32768:
                    self._chunk("".join(buffer))
                    buffer, size = [], 0
            if buffer:
                self._chunk("".join(buffer))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading: fine for a stream
            self.close_connection = True

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
