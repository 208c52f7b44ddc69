"""The two waits of the HEC side: for the index to show a batch's keys, and for Splunk to acknowledge batches.

Why their own module: both are "ask again until done or a deadline passes", written once each and
used by :class:`~copydicom_provider.hooks.splunk.hec.HecClient` (and, through the hook, by the tags
job's verify step), apart from how a batch is sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence

import requests

from copydicom_provider.hooks.splunk.batches import HecSendResult
from copydicom_provider.hooks.splunk.errors import SplunkHecError
from copydicom_provider.hooks.splunk.wire import RETRYABLE_STATUS, Log, code_part, first_line, hec_text, json_reply


def held_within(keys: Sequence[str], held: Callable[[Sequence[str]], Iterable[str]], *,
                delay: float, poll_interval: float) -> set[str]:
    """Which of ``keys`` the index holds, asking ``held`` until all are found or ``delay`` passes.

    Why the wait: Splunk makes events searchable seconds after accepting them, so "not found
    yet" is only believed once ``delay`` is over. Each poll asks only for the keys still missing.
    Whatever ``held`` raises (an unsearchable or partial index) is raised.
    """
    deadline = time.monotonic() + max(0.0, delay)
    missing = list(dict.fromkeys(keys))
    found: set[str] = set()
    while missing:
        found.update(set(held(missing)) & set(missing))
        missing = [key for key in missing if key not in found]
        remaining = deadline - time.monotonic()
        if not missing or remaining <= 0:
            break
        time.sleep(min(poll_interval, remaining))
    return found


def wait_for_acks(result: HecSendResult, post: Callable[[str], requests.Response], *, url: str,
                  timeout: float, interval: float, log: Log) -> None:
    """Poll ``/services/collector/ack`` (``post(body)``) until every batch is indexed or ``timeout`` passes."""
    pending = set(result.ack_ids)
    deadline = time.monotonic() + timeout
    while True:
        response: requests.Response | None
        try:
            response = post(json.dumps({"acks": sorted(pending)}, separators=(",", ":")))
        except (requests.ConnectionError, requests.Timeout) as exc:
            response = None
            log.warning("Splunk HEC ack poll at %s failed: %s", url, first_line(exc))
        if response is not None and response.status_code == 200:
            acks = json_reply(response).get("acks") or {}
            pending -= {int(k) for k, done in acks.items() if done is True}
        elif response is not None and response.status_code not in RETRYABLE_STATUS:
            reply = json_reply(response)
            raise SplunkHecError(
                f"Splunk HEC at {url} refused the ack poll (HTTP {response.status_code}"
                f"{code_part(reply.get('code'))}): {hec_text(response, reply)}",
                accepted=result.events, status=response.status_code, code=reply.get("code"),
            )
        result.acknowledged = len(result.ack_ids) - len(pending)
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise SplunkHecError(
                f"Splunk HEC at {url} acknowledged {result.acknowledged} of {len(result.ack_ids)} batches "
                f"within {timeout:g} s; the others were received but are not confirmed as indexed",
                accepted=result.events, unreachable=True,
            )
        time.sleep(interval)
