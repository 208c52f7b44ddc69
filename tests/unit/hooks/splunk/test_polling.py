"""The two waits: keys believed missing only after the delay; acks polled until all are in or time is up."""

from __future__ import annotations

import logging

import pytest

from copydicom_provider.hooks.splunk.batches import HecSendResult
from copydicom_provider.hooks.splunk.errors import SplunkHecError
from copydicom_provider.hooks.splunk.polling import held_within, wait_for_acks
from tests.unit.hooks.splunk.fake_session import reply

LOG = logging.getLogger(__name__)


def test_keys_are_asked_again_only_while_missing():
    asked: list[list[str]] = []
    showing = [{"a"}, {"b"}]

    def held(keys):
        asked.append(list(keys))
        return showing.pop(0) if showing else set()

    assert held_within(["a", "b", "a", "c"], held, delay=0.2, poll_interval=0.01) == {"a", "b"}
    assert asked[:2] == [["a", "b", "c"], ["b", "c"]] and all(keys == ["c"] for keys in asked[2:])


def test_no_delay_asks_once():
    calls: list[int] = []
    assert held_within(["a"], lambda keys: calls.append(1) or set(), delay=0, poll_interval=1) == set()
    assert calls == [1]


def test_acks_are_polled_until_every_batch_is_indexed():
    result = HecSendResult(ack_ids=[0, 1])
    answers = iter([reply(200, {"acks": {"0": True, "1": False}}), reply(200, {"acks": {"1": True}})])
    bodies: list[str] = []
    wait_for_acks(result, lambda body: bodies.append(body) or next(answers), url="http://hec", timeout=5,
                  interval=0.01, log=LOG)
    assert result.acknowledged == 2 and bodies == ['{"acks":[0,1]}', '{"acks":[1]}']


def test_a_refused_ack_poll_raises_splunks_text():
    result = HecSendResult(ack_ids=[0])
    with pytest.raises(SplunkHecError, match="refused the ack poll"):
        wait_for_acks(result, lambda body: reply(400, {"text": "Invalid data format", "code": 6}),
                      url="http://hec", timeout=5, interval=0.01, log=LOG)
