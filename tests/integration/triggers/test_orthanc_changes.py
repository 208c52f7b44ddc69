"""OrthancChangesTrigger's event loop against a real Orthanc (the same coroutine the triggerer runs)."""

from __future__ import annotations

import asyncio
from typing import Any

from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.triggers.orthanc_changes import OrthancChangesTrigger
from tests.support.fixtures_orthanc import seed
from tests.support.source_databases import replace_database

POLL = 0.2


def studies(seed_value: int, instances: int = 2) -> list:
    return generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=instances,
                            seed=seed_value)


async def next_event(events: Any, timeout: float = 15.0) -> dict[str, Any]:
    return (await asyncio.wait_for(events.__anext__(), timeout)).payload


def test_it_fires_on_start_on_arrivals_and_on_a_replaced_change_log_and_never_when_idle(source, orthanc_connection):
    orthanc_connection("orthanc_watched", source)
    seed(source, studies(1))
    trigger = OrthancChangesTrigger("orthanc_watched", poll_interval=POLL)
    assert trigger.serialize() == ("copydicom_provider.triggers.orthanc_changes.OrthancChangesTrigger",
                                   {"orthanc_conn_id": "orthanc_watched", "poll_interval": POLL})

    async def scenario() -> list[dict[str, Any]]:
        events = trigger.run()
        seen = [await next_event(events)]  # at once: whatever arrived while no one watched
        pending = asyncio.ensure_future(events.__anext__())  # not cancelled: that would end the generator
        done, _ = await asyncio.wait({pending}, timeout=10 * POLL)
        assert not done, f"an event while nothing arrived: {pending.result().payload}"
        await asyncio.to_thread(seed, source, studies(2, instances=3))
        seen.append((await asyncio.wait_for(pending, 15)).payload)
        await asyncio.to_thread(replace_database, source)  # a new database: its log counts from 1 again
        seen.append(await next_event(events, timeout=60))
        await events.aclose()
        return seen

    started, arrived, restarted = asyncio.run(scenario())
    assert started["reason"] == "watch started" and started["last_seq"] > 0 and started["source"] == "orthanc_watched"
    assert arrived["reason"] == "arrivals" and 1 <= arrived["new_instances"] <= 3
    assert arrived["last_seq"] > started["last_seq"]
    assert restarted["reason"] == "change log restarted" and restarted["last_seq"] < arrived["last_seq"]


def test_a_source_away_is_waited_for_and_its_arrivals_still_fire(source, orthanc_connection):
    orthanc_connection("orthanc_watched", source)
    trigger = OrthancChangesTrigger("orthanc_watched", poll_interval=POLL)

    async def scenario() -> dict[str, Any]:
        events = trigger.run()
        await next_event(events)
        await asyncio.to_thread(source.stop)
        await asyncio.sleep(5 * POLL)  # polls fail meanwhile, backing off; no event, no crash
        await asyncio.to_thread(source.start)
        await asyncio.to_thread(seed, source, studies(3))
        payload = await next_event(events, timeout=90)
        await events.aclose()
        return payload

    assert asyncio.run(scenario())["reason"] == "arrivals"
