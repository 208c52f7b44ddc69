"""cli/app.py: exit codes follow the error's kind (a server away, a refusal, a mistake)."""

from __future__ import annotations

from copydicom_provider.cli.app import _unreachable
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.splunk import SplunkError, SplunkSearchIncomplete


def test_a_server_away_or_busy_is_unreachable() -> None:
    assert _unreachable(OrthancError("no answer", unreachable=True))
    assert _unreachable(SplunkError("busy", status=503))
    assert _unreachable(SplunkSearchIncomplete("a search peer is down"))


def test_a_refusal_is_not() -> None:
    assert not _unreachable(OrthancError("refused", status=401))
    assert not _unreachable(SplunkError("bad token", status=403))
