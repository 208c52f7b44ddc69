"""The HEC token, the password, the bearer token and session keys never leave the hook.

Every path that can talk about a connection is exercised at DEBUG level (successes, retries, each
kind of failure, test_connection, searches); then logs (caplog and Airflow's stdout logging via
capsys), exception messages and reprs, and return values (what a task would push to XCom) are
searched for the secrets.
"""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from copydicom_provider.hooks.splunk import SplunkError, SplunkHook
from copydicom_provider.testing.splunk import SplunkTestServer

pytestmark = pytest.mark.timeout(60)

HEC_TOKEN = "3f1c9a4e-hec-secret-7d2b"
PASSWORD = "pw-secret-81cd5e"
BEARER = "bearer-secret-4a9f0c"
FAST = {
    "backoff_initial": 0.01,
    "backoff_max": 0.02,
    "retry_attempts": 2,
    "ack_timeout": 0.2,
    "ack_poll_interval": 0.05,
}


def test_secrets_appear_in_no_log_exception_or_return_value(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    seen: list[str] = []

    def attempt(action) -> None:
        try:
            value = action()
        except (SplunkError, ValueError) as exc:
            seen.extend([str(exc), repr(exc), repr(exc.args)])
        else:
            seen.append(repr(value))
            if dataclasses.is_dataclass(value):
                seen.append(json.dumps(dataclasses.asdict(value)))

    with SplunkTestServer(hec_token=HEC_TOKEN, password=PASSWORD, bearer_tokens=[BEARER]) as server:
        hook = SplunkHook.from_url(server.url(index="dicom"), **FAST)
        bearer_hook = SplunkHook.from_url(
            f"http://127.0.0.1:{server.mgmt_port}?hec_port={server.hec_port}&token={BEARER}", **FAST
        )
        wrong_password = SplunkHook.from_url(server.url().replace(PASSWORD, PASSWORD + "x"), **FAST)
        wrong_token = SplunkHook.from_url(server.url().replace(HEC_TOKEN, HEC_TOKEN + "x"), **FAST)

        attempt(lambda: hook.send_events([{"n": 1}]))
        attempt(lambda: hook.test_connection())
        attempt(lambda: list(hook.search("index=dicom")))
        attempt(lambda: list(hook.search("index=dicom | eval x=1")))
        attempt(lambda: list(bearer_hook.search("index=dicom")))
        attempt(lambda: list(wrong_password.search("index=dicom")))
        attempt(lambda: wrong_password.test_connection())
        attempt(lambda: wrong_token.send_events([{"n": 1}]))
        attempt(lambda: wrong_token.test_connection())
        attempt(lambda: hook.send_events([{"n": 1}], index="nope"))
        attempt(lambda: hook.send_events(["  "]))
        server.busy(1)
        attempt(lambda: hook.send_events([{"n": 2}]))
        server.drop(1)
        attempt(lambda: hook.send_events([{"n": 3}]))
        server.busy_forever()
        attempt(lambda: hook.send_events([{"n": 4}]))
        attempt(lambda: hook.test_connection())
        server.reset_faults()
        session_keys = list(server.state.sessions)
        seen.extend([repr(hook), repr(hook.settings), repr(vars(hook.settings))])
    attempt(lambda: SplunkHook.from_url(f"ftp://admin:{PASSWORD}@host?hec_token={HEC_TOKEN}"))
    attempt(lambda: hook.send_events([{"n": 5}]))  # the server is gone: connection errors

    with SplunkTestServer(hec_token=HEC_TOKEN, password=PASSWORD, ack=True, ack_delay=30) as server:
        ack_hook = SplunkHook.from_url(server.url(ack="true"), **FAST)
        attempt(lambda: ack_hook.send_events([{"n": 1}]))
        session_keys += list(server.state.sessions)

    captured = capsys.readouterr()
    haystacks = {
        "caplog": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
        "values and errors": "\n".join(seen),
    }
    assert len(session_keys) >= 2 and "Invalid token" in haystacks["values and errors"], "the failure paths really ran"
    for secret in (HEC_TOKEN, PASSWORD, BEARER, *session_keys):
        for where, text in haystacks.items():
            assert secret not in text, f"a secret leaked into {where}"


def test_lost_replies_and_their_settle_checks_leak_no_secret(caplog, capsys):
    """Late replies, drops after storing, 5xx after storing and an index that cannot be asked, at DEBUG."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    seen: list[str] = []
    def envelopes(round_: int) -> list[dict]:
        return [{"index": "dicom", "event": {"n": n}, "fields": {"k": f"key{round_}.{n}"}} for n in range(3)]

    def cannot_ask(keys):
        raise SplunkError("Splunk management port at http://127.0.0.1:1 is unreachable")

    with SplunkTestServer(hec_token=HEC_TOKEN, password=PASSWORD) as server:
        hook = SplunkHook.from_url(server.url(index="dicom", timeout=0.3, settle_delay=0.2),
                                   settle_poll_interval=0.05, **FAST)
        faults = (lambda: server.answer_late(1, 0.8), lambda: server.drop_after_store(1),
                  lambda: server.error_after_store(1, 502), lambda: server.drop(1))
        for round_, fault in enumerate(faults):
            fault()
            seen.append(repr(hook.send_envelopes(envelopes(round_), dedupe_field="k")))
        server.answer_late(1, 0.8)
        try:
            hook.send_envelopes(envelopes(9), dedupe_field="k", held=cannot_ask)
        except SplunkError as exc:
            seen.extend([str(exc), repr(exc), repr(exc.args)])
        assert len(server.events) == 3 + 3 + 3 + 3 + 3, "each fault stored its batch once"

    captured = capsys.readouterr()
    haystacks = {
        "caplog": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
        "values and errors": "\n".join(seen),
    }
    assert "could not be asked" in haystacks["values and errors"] and "the index holds 3 of them" in captured.out
    for secret in (HEC_TOKEN, PASSWORD):
        for where, text in haystacks.items():
            assert secret not in text, f"a secret leaked into {where}"


def test_secrets_are_registered_with_airflows_masker():
    from airflow.sdk._shared.secrets_masker import redact

    hook = SplunkHook.from_url(f"http://admin:{PASSWORD}@127.0.0.1:8089?hec_token={HEC_TOKEN}&token={BEARER}")
    hook._load()
    line = redact(f"token={HEC_TOKEN} password={PASSWORD} bearer={BEARER}")
    assert HEC_TOKEN not in line and PASSWORD not in line and BEARER not in line
