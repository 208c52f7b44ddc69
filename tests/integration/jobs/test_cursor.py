"""The change-log cursor against a real Orthanc: take up where the last run stopped, detect gaps."""

from __future__ import annotations

import requests

from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.candidates import Candidates
from copydicom_provider.jobs.cursor import CursorState, advance, find_gap, newest_seq, plan_cursor_run
from copydicom_provider.jobs.replicate import copy_candidates
from copydicom_provider.testing.dicom_generator import generate_studies
from tests.support.fixtures_orthanc import instance_ids, seed


def batch(seed_value: int, instances: int = 2):
    return generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                            instances_per_series=instances, seed=seed_value)


def test_a_run_takes_up_exactly_where_the_cursor_stands(source):
    hook = OrthancHook.from_url(source.url_with_credentials)
    first = seed(source, batch(1))
    run = plan_cursor_run(hook, None, None)  # a job's first run, with no interval: the whole log
    assert set(run.candidates.instances) == {i.orthanc_id for i in first} and run.gap is None
    state = advance(None, run.after, run.upto, Candidates())

    second = seed(source, batch(2)) + seed(source, batch(3))
    run = plan_cursor_run(hook, state, None)
    assert run.candidates.instances == [i.orthanc_id for i in second]  # only what came after, in order
    assert run.after == state.seq and run.upto == newest_seq(hook)

    nothing = plan_cursor_run(hook, advance(state, run.after, run.upto, Candidates()), None)
    assert nothing.candidates.instances == [] and nothing.gap is None


def test_unfinished_work_is_retried_and_the_cursor_never_moves_back():
    retry = Candidates(instances=["a", "b"])
    state = advance(CursorState(seq=10), 10, 20, retry)
    assert state.seq == 20 and state.retry.instances == ["a", "b"]
    # an old run (it covered 5..12) cleared and rerun after the cursor moved to 20
    older = advance(state, 5, 12, Candidates(instances=["c"]))
    assert older.seq == 20 and older.retry.instances == ["a", "b", "c"]
    assert CursorState.from_dict(older.as_dict()) == older


def test_retry_candidates_come_first_in_the_next_run(source):
    hook = OrthancHook.from_url(source.url_with_credentials)
    items = seed(source, batch(4))
    state = CursorState(seq=newest_seq(hook), retry=Candidates(instances=[items[0].orthanc_id]))
    run = plan_cursor_run(hook, state, None)
    assert run.candidates.instances == [items[0].orthanc_id]


def test_a_cleared_change_log_is_reported_and_reconciled(source, destination):
    hook = OrthancHook.from_url(source.url_with_credentials)
    before = seed(source, batch(5))
    state = CursorState(seq=newest_seq(hook))
    unseen = seed(source, batch(6))  # received after the cursor...
    requests.delete(f"{source.url}/changes", auth=source.auth, timeout=10).raise_for_status()  # ...then the log is gone
    later = seed(source, batch(7))

    gap = find_gap(hook, state.seq, newest_seq(hook))
    assert gap and "no longer in the source's change log" in gap
    run = plan_cursor_run(hook, state, None)
    assert run.gap == gap and "reconciliation" in run.describe()
    summary = copy_candidates(hook, OrthancHook.from_url(destination.url_with_credentials), run.candidates)
    assert instance_ids(destination) == {i.orthanc_id for i in before + unseen + later}
    assert summary.copied == len(before + unseen + later)


def test_a_reset_source_is_reported_and_reconciled(source, destination):
    """A cursor beyond the source's newest change: the source's database was replaced (a new, empty index)."""
    hook = OrthancHook.from_url(source.url_with_credentials)
    items = seed(source, batch(8))
    run = plan_cursor_run(hook, CursorState(seq=newest_seq(hook) + 500), None)
    assert run.gap and "reset or restored" in run.gap
    copy_candidates(hook, OrthancHook.from_url(destination.url_with_credentials), run.candidates)
    assert instance_ids(destination) == {i.orthanc_id for i in items}
    assert advance(CursorState(seq=run.after), run.after, run.upto, Candidates()).seq == run.upto < run.after
