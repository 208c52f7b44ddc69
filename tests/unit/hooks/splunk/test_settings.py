"""SplunkSettings is the one place ``settle_delay`` is resolved; HecOptions refuses impossible sizes."""

from __future__ import annotations

import pytest

from copydicom_provider.hooks.splunk.settings import HecOptions, SplunkSettings


def test_settle_delay_the_hooks_argument_then_the_extra_then_ten_seconds():
    assert SplunkSettings.from_extra({}).settle_delay == 10
    assert SplunkSettings.from_extra({"settle_delay": "2.5"}).settle_delay == 2.5
    assert SplunkSettings.from_extra({"settle_delay": "2.5"}, settle_delay=0).settle_delay == 0


def test_extras_of_older_forms_and_use_https_are_read():
    settings = SplunkSettings.from_extra({"extra__splunk__use_https": "false", "hec_port": "18088", "ack": "yes"})
    assert (settings.scheme, settings.hec_scheme, settings.hec_port, settings.ack) == ("http", "http", 18088, True)
    with pytest.raises(ValueError, match="scheme must be http or https"):
        SplunkSettings.from_extra({"scheme": "ftp"})


def test_options_need_at_least_one_event_byte_and_attempt():
    for wrong in ({"max_batch_events": 0}, {"max_batch_bytes": 0}, {"retry_attempts": 0}):
        with pytest.raises(ValueError, match="must be at least 1"):
            HecOptions(**wrong)
