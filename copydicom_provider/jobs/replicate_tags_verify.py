"""Verify a tags run: after sending, ask the index for every record key the run sent.

Why: HEC's success reply is the only proof of storage the sender gets, and something in front of
HEC (a proxy that mimics its reply) can give it without storing anything. Asking the index
afterwards is the one check that does not trust the reply. It uses the hook's settling wait
(:meth:`SplunkHook.held_within`: poll until every key is found or ``settle_delay`` passes, since
Splunk makes events searchable seconds after accepting them) and the run's own duplicate check
(:func:`~copydicom_provider.jobs.replicate_tags.indexed_keys`, a one-row count per 1000 keys when all are held).

What the index lacks is read from the source again and sent once more (only the missing records);
what it still lacks after a second wait is reported as failed, so the task fails and its retry
(whose duplicate check sees what is missing) sends it. A partial or unsearchable index raises:
nothing is resent on an answer that cannot be trusted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from copydicom_provider.jobs.summary import TagsSummary
    from copydicom_provider.records.instance import InstanceRecords

#: ``absent(keys)``: which of ``keys`` the index still lacks once the settling wait is over.
Absent = Callable[[Sequence[str]], set[str]]


@dataclass
class SentRecords:
    """What a run sent, by record key: the instance it belongs to and its ``RecordType``."""

    owners: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add(self, instance_id: str, records: Sequence[dict]) -> None:
        for record in records:
            self.owners[record["RecordKey"]] = (instance_id, record["RecordType"])

    def instances(self, keys: Collection[str]) -> list[str]:
        """The instances ``keys`` belong to, once each, in the order they were sent."""
        return list(dict.fromkeys(self.owners[key][0] for key in self.owners if key in keys))

    def take_back(self, keys: Collection[str], summary: TagsSummary) -> list[str]:
        """Count ``keys`` (and their instances) as not sent after all, and forget them; returns those instances."""
        owners = self.instances(keys)
        for key in keys:
            _, record_type = self.owners.pop(key)
            summary.events_sent -= 1
            summary.dose_reports -= record_type == "dose_report"
            summary.irradiation_events -= record_type == "irradiation_event"
        summary.sent -= len(owners)
        return owners


def verify_sent(sent: SentRecords, absent: Absent, reread: Callable[[list[str]], list[InstanceRecords]],
                send: Callable[[list[InstanceRecords]], None], summary: TagsSummary,
                logger: logging.Logger) -> None:
    """Check every record the run sent is in the index; send the missing ones once more, report the rest."""
    if not sent.owners:
        return
    started = time.monotonic()
    missing = absent(list(sent.owners))
    if not missing:
        logger.info("tags: verify: the index holds all %d records this run sent (%.1f s)",
                    len(sent.owners), time.monotonic() - started)
        return
    logger.warning(
        "tags: verify: the index lacks %d of the %d records this run sent, although HEC answered success "
        "(something in front of HEC may answer for it); sending them once more", len(missing), len(sent.owners))
    items = reread(sent.take_back(missing, summary))
    for item in items:
        item.records = [record for record in item.records if record["RecordKey"] in missing]
    send([item for item in items if item.records])
    still = absent([key for key in missing if key in sent.owners])
    for instance_id in sent.take_back(still, summary):
        summary.record_failure(instance_id, (
            "Splunk HEC answered success twice, but the index does not hold its records within the settle "
            "delay: is a proxy answering for HEC? A rerun sends what the index lacks"))
    logger.log(logging.ERROR if still else logging.INFO,
               "tags: verify: %d of the %d missing records are in the index after sending them again (%.1f s)",
               len(missing) - len(still), len(missing), time.monotonic() - started)
