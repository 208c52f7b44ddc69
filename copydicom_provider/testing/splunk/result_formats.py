"""Search results as the Splunk-compatible test server (not Splunk) writes them: export JSON lines (with
preview rows and in-stream messages) and the XML of ``results`` and of an export."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr


def json_lines(first: dict[str, Any] | None, rows: Iterator[dict[str, Any]],
                preview: Sequence[dict[str, Any]] = ()) -> Iterator[str]:
    """Export JSON lines: ``preview`` rows first (``"preview":true``), then the results, the last with ``lastrow``."""
    for offset, row in enumerate(preview):
        yield json.dumps({"preview": True, "offset": offset, "result": row}, separators=(",", ":")) + "\n"
    if first is None:
        yield '{"preview":false,"lastrow":true}\n'
        return
    offset, current = 0, first
    for following in rows:
        yield json.dumps({"preview": False, "offset": offset, "result": current}, separators=(",", ":")) + "\n"
        offset, current = offset + 1, following
    yield json.dumps({"preview": False, "offset": offset, "lastrow": True, "result": current},
                     separators=(",", ":")) + "\n"


def message_line(msg_type: str, text: str) -> str:
    """One in-stream message of an export, as Splunk writes it between result lines."""
    return json.dumps({"preview": False, "messages": [{"type": msg_type, "text": text}]}, separators=(",", ":")) + "\n"


def with_messages(lines: Iterator[str], messages: list[tuple[int, str, str]]) -> Iterator[str]:
    """Insert in-stream ``{"preview":false,"messages":[...]}`` lines after the given number of final results."""
    pending = sorted(messages)
    results = 0

    def due() -> Iterator[str]:
        while pending and pending[0][0] <= results:
            _, msg_type, text = pending.pop(0)
            yield message_line(msg_type, text)

    yield from due()
    for line in lines:
        if '"preview":false' in line[:20] and '"result"' in line:
            yield line
            results += 1
            yield from due()
        else:
            yield line
    for _, msg_type, text in pending:
        yield message_line(msg_type, text)


def xml_result(row: dict[str, Any], offset: int) -> str:
    fields = []
    for key, value in row.items():
        values = value if isinstance(value, list) else [value]
        if key == "_raw":
            fields.append(f"<field k='_raw'><v xml:space='preserve' trunc='0'>{escape(str(value))}</v></field>")
        else:
            inner = "".join(f"<value><text>{escape(str(v))}</text></value>" for v in values)
            fields.append(f"<field k={quoteattr(key)}>{inner}</field>")
    return f"<result offset='{offset}'>" + "".join(fields) + "</result>\n"


def xml_results(rows: list[dict[str, Any]], names: list[str], offset: int) -> Iterator[str]:
    yield "<?xml version='1.0' encoding='UTF-8'?>\n<results preview='0'>\n<meta>\n<fieldOrder>\n"
    yield "".join(f"<field>{escape(n)}</field>\n" for n in names)
    yield "</fieldOrder>\n</meta>\n"
    for number, row in enumerate(rows, offset):
        yield xml_result(row, number)
    yield "</results>\n"


def xml_stream(first: dict[str, Any] | None, rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield "<?xml version='1.0' encoding='UTF-8'?>\n<results preview='0'>\n"
    if first is not None:
        yield xml_result(first, 0)
        for number, row in enumerate(rows, 1):
            yield xml_result(row, number)
    yield "</results>\n"
