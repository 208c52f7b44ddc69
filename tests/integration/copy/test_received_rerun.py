"""Reruns of a received window settle their candidates in bulk, and still find every correction.

Real Orthanc servers: the source overwrites re-stored instances (a correction keeps its ID), the
destination's clock may run ahead. MD5 look-ups are counted on the real hook, so a test fails if
a rerun falls back to asking each instance, or if it skips one it had to ask.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from copydicom_provider.copy import loose
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.replicate import replicate
from copydicom_provider.testing.dicom_generator import generate_studies, to_bytes
from tests.support.fixtures_orthanc import instance_bytes, instance_ids, seed


@pytest.fixture
def md5_asked(monkeypatch):
    """The instance IDs whose stored MD5 was asked of any Orthanc, in order."""
    asked: list[str] = []
    real = OrthancHook.stored_md5

    def counting(self, instance_id):
        asked.append(instance_id)
        return real(self, instance_id)

    monkeypatch.setattr(OrthancHook, "stored_md5", counting)
    return asked


def _store(server, dataset) -> None:
    reply = requests.post(f"{server.url}/instances", data=to_bytes(dataset), auth=server.auth, timeout=30)
    reply.raise_for_status()
    assert reply.json()["Status"] == "Success"


def test_a_received_rerun_asks_no_instance_alone_and_still_finds_both_kinds_of_correction(orthanc_factory, md5_asked):
    source = orthanc_factory("source", extra_config={"OverwriteInstances": True})
    destination = orthanc_factory("destination")
    items = seed(source, generate_studies(patients=2, studies_per_patient=1, series_per_study=2,
                                          instances_per_series=3, seed=7))
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    largest = max(len(to_bytes(i.dataset)) for i in items)
    # The copies land clearly after the stores: an upload's margin, and about a second each for the dates and
    # the clock readings, which Orthanc truncates to the second.
    time.sleep((loose.upload_margin(largest) + timedelta(seconds=4.5)).total_seconds())
    first = replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    assert first.copied == len(items)

    md5_asked.clear()
    again = replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    assert again.copied == again.updated == 0 and again.already_present == len(items), again.line()
    assert md5_asked == []  # settled by two bulk requests, not two requests per instance

    longer, same_size = items[1].dataset, items[4].dataset
    longer.PatientName = "Corrected^Name^With^A^Longer^Value"  # another stored size
    same_size.PixelData = bytes(reversed(same_size.PixelData))  # the same size, other content
    _store(source, longer)
    _store(source, same_size)
    md5_asked.clear()
    fixed = replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    assert fixed.updated == 2 and fixed.copied == 0 and fixed.already_present == len(items) - 2, fixed.line()
    assert set(md5_asked) == {items[4].orthanc_id}  # only the one the sizes could not tell apart
    for item in (items[1], items[4]):
        assert instance_bytes(destination, item.orthanc_id) == instance_bytes(source, item.orthanc_id)
    assert instance_ids(destination) == {i.orthanc_id for i in items}

    settled = replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    assert settled.updated == settled.copied == 0 and settled.already_present == len(items)


def test_a_destination_clock_an_hour_ahead_does_not_hide_a_correction(orthanc_factory):
    source = orthanc_factory("source", extra_config={"OverwriteInstances": True})
    destination = orthanc_factory("destination", fake_time="+1h")  # its copies look an hour newer
    items = seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                                          instances_per_series=3, seed=8))
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    assert replicate(source.url_with_credentials, destination.url_with_credentials, since=since).copied == 3

    corrected = items[0].dataset
    corrected.PixelData = bytes(reversed(corrected.PixelData))  # same size: only the dates or the MD5 can tell
    _store(source, corrected)
    fixed = replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    assert fixed.updated == 1 and fixed.already_present == 2, fixed.line()
    assert instance_bytes(destination, items[0].orthanc_id) == instance_bytes(source, items[0].orthanc_id)


def test_verify_compares_every_loose_instance_by_md5(orthanc_factory, md5_asked):
    source = orthanc_factory("source")
    destination = orthanc_factory("destination")
    items = seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                                          instances_per_series=2, seed=9))
    since = datetime.now(timezone.utc) - timedelta(minutes=5)
    replicate(source.url_with_credentials, destination.url_with_credentials, since=since)
    md5_asked.clear()
    checked = replicate(source.url_with_credentials, destination.url_with_credentials, since=since, verify=True)
    assert checked.already_present == len(items)
    assert sorted(md5_asked) == sorted([i.orthanc_id for i in items] * 2)  # each side, each instance
