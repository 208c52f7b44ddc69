"""Splunk's HTTP Event Collector status codes and reply bodies, as the Splunk-compatible test server (not Splunk)
answers them."""

from __future__ import annotations

from typing import Any

#: Splunk's HEC status codes: code -> (HTTP status, text). Splunk docs "Troubleshoot HTTP Event
#: Collector" and Splunk's cloudfwd error table.
HEC_STATUS: dict[int, tuple[int, str]] = {
    0: (200, "Success"),
    1: (403, "Token disabled"),
    2: (401, "Token is required"),
    3: (401, "Invalid authorization"),
    4: (403, "Invalid token"),
    5: (400, "No data"),
    6: (400, "Invalid data format"),
    7: (400, "Incorrect index"),
    8: (500, "Internal server error"),
    9: (503, "Server is busy"),
    10: (400, "Data channel is missing"),
    11: (400, "Invalid data channel"),
    12: (400, "Event field is required"),
    13: (400, "Event field cannot be blank"),
    14: (400, "ACK is disabled"),
    15: (400, "Error in handling indexed fields"),
    16: (400, "Query string authorization is not enabled"),
    17: (200, "HEC is healthy"),
    18: (503, "HEC is unhealthy, queues are full"),
    19: (503, "HEC is unhealthy, ack service unavailable"),
    20: (503, "HEC is unhealthy, queues are full, ack service unavailable"),
    21: (400, "Invalid token"),
    22: (400, "Token disabled"),
}
NOT_FOUND_TEXT = "The requested URL was not found on this server."


def hec_body(code: int, **extra: Any) -> dict[str, Any]:
    return {"text": HEC_STATUS[code][1], "code": code, **extra}
