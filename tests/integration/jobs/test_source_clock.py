"""Received windows are read on the source's clock: skew between worker and source never empties a window.

The source Orthanc runs under libfaketime with its clock 10 minutes behind or ahead of this worker's,
or stepped back 10 minutes after it had received instances on the right time. Windows are a few
seconds long and their instances arrive in their middle, so each window's own instances, and no
others, are its candidates, however the second-granular bounds fall.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.cursor import plan_cursor_run
from copydicom_provider.jobs.replicate import copy_candidates, replicate
from copydicom_provider.jobs.source_clock import measure_offset, on_source_clock
from copydicom_provider.testing.dicom_generator import generate_studies
from tests.support.fixtures_orthanc import instance_ids, seed

WINDOW = 6.0  # seconds; arrivals at its middle stay clear of the bounds' second or two of uncertainty


def five(seed_value: int):
    return generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=5,
                            seed=seed_value)


def ids(items) -> set[str]:
    return {i.orthanc_id for i in items}


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds()))


def windows_with_arrivals(source, count: int, first_seed: int) -> tuple[list[datetime], list[list]]:
    """``count`` adjacent windows on this worker's clock, five instances arriving in the middle of each."""
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    bounds, arrivals = [start], []
    for index in range(count):
        sleep_until(bounds[-1] + timedelta(seconds=WINDOW / 2 - 0.5))
        arrivals.append(seed(source, five(first_seed + index)))
        bounds.append(bounds[-1] + timedelta(seconds=WINDOW))
    sleep_until(bounds[-1] + timedelta(seconds=0.5))
    return bounds, arrivals


@pytest.mark.parametrize("skew", ["-10m", "+10m"])
def test_adjacent_windows_copy_their_instances_on_a_skewed_source(orthanc_factory, skew):
    source = orthanc_factory("source", fake_time=skew)
    destination = orthanc_factory("destination")
    bounds, arrivals = windows_with_arrivals(source, 2, 1)
    for start, end, arrived in zip(bounds, bounds[1:], arrivals, strict=False):
        summary = replicate(source.url_with_credentials, destination.url_with_credentials, since=start, until=end)
        assert summary.candidates == summary.copied == len(arrived) == 5
    assert instance_ids(destination) == ids(arrivals[0] + arrivals[1])


def test_adjacent_windows_after_the_source_clock_was_stepped_back(orthanc_factory):
    source = orthanc_factory("source")
    destination = orthanc_factory("destination")
    before_step = seed(source, five(10))  # dated on the right time: later than what follows the step
    source.stop()
    source.fake_time = "-10m"
    source.start()
    bounds, arrivals = windows_with_arrivals(source, 2, 11)
    for start, end, arrived in zip(bounds, bounds[1:], arrivals, strict=False):
        summary = replicate(source.url_with_credentials, destination.url_with_credentials, since=start, until=end)
        assert summary.candidates == summary.copied == len(arrived) == 5
    assert instance_ids(destination) == ids(arrivals[0] + arrivals[1])
    assert not ids(before_step) & instance_ids(destination)


def test_a_first_cursor_run_on_a_source_behind_covers_its_interval(orthanc_factory):
    source = orthanc_factory("source", fake_time="-10m")
    destination = orthanc_factory("destination")
    earlier = seed(source, five(20))  # before the interval
    time.sleep(3)
    start = datetime.now(timezone.utc)
    time.sleep(2)
    inside = seed(source, five(21))
    hook = OrthancHook.from_url(source.url_with_credentials)
    run = plan_cursor_run(hook, None, start)
    assert set(run.candidates.instances) == ids(inside)
    copy_candidates(hook, OrthancHook.from_url(destination.url_with_credentials), run.candidates)
    assert instance_ids(destination) == ids(inside) and not ids(earlier) & instance_ids(destination)


def test_clocks_that_agree_leave_the_window_as_it_is(source):
    hook = OrthancHook.from_url(source.url_with_credentials)
    offset = measure_offset(hook)
    assert offset is not None and offset.agrees and offset.high - offset.low < timedelta(seconds=2)
    start, end = datetime(2026, 1, 1, 3, tzinfo=timezone.utc), datetime(2026, 1, 1, 4, tzinfo=timezone.utc)
    assert on_source_clock(hook, start, end) == (start, end)


def test_a_skewed_clock_is_measured_within_a_second_or_two(orthanc_factory):
    hook = OrthancHook.from_url(orthanc_factory("source", fake_time="-10m").url_with_credentials)
    offset = measure_offset(hook)
    assert offset is not None and not offset.agrees
    assert timedelta(minutes=-10, seconds=-2) < offset.low < offset.high < timedelta(minutes=-10, seconds=2)
    assert "600 s behind" in offset.describe() or "599 s behind" in offset.describe()
