"""The error a search Splunk would refuse raises in the Splunk-compatible test server (not Splunk)."""

from __future__ import annotations


class SearchError(Exception):
    """A search Splunk would refuse: carries Splunk's message type and text."""

    def __init__(self, text: str, msg_type: str = "FATAL", status: int = 400) -> None:
        super().__init__(text)
        self.text = text
        self.msg_type = msg_type
        self.status = status
