"""The cursor recognises its source: a replaced or restored database is a gap, even past the old cursor's number.

Real Orthanc processes; a "replacement" is a new, empty database on the same ports, a "restore" puts
back a copy of the database folder taken earlier (see ``tests/support/source_databases.py``).
"""

from __future__ import annotations

import pytest
import requests

from copydicom_provider.dag_building.support import bad_cursor_gap
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.candidates import Candidates
from copydicom_provider.jobs.cursor import (
    BadCursor,
    CursorState,
    advance,
    load_cursor,
    newest_seq,
    plan_cursor_run,
)
from copydicom_provider.jobs.replicate import copy_candidates
from copydicom_provider.testing.dicom_generator import generate_studies
from tests.support.fixtures_orthanc import instance_ids, seed
from tests.support.source_databases import replace_database, restore_backup, take_backup


def batch(seed_value: int, instances: int = 2):
    return generate_studies(patients=1, studies_per_patient=1, series_per_study=1,
                            instances_per_series=instances, seed=seed_value)


def ids(items) -> set[str]:
    return {i.orthanc_id for i in items}


def run_once(source_hook, destination_hook, state):
    """One scheduled run: plan from the cursor, copy, move the cursor; returns (run, new cursor)."""
    run = plan_cursor_run(source_hook, state, None)
    copy_candidates(source_hook, destination_hook, run.candidates)
    return run, advance(state, run.after, run.upto, Candidates(), run.mark)


def seed_past(server, hook, seq: int, first_seed: int) -> list:
    """Seed batches until the source's change log has passed ``seq``."""
    seeded, value = [], first_seed
    while newest_seq(hook) <= seq + 2:
        seeded += seed(server, batch(value))
        value += 1
    return seeded


@pytest.fixture
def hooks(source, destination):
    return OrthancHook.from_url(source.url_with_credentials), OrthancHook.from_url(destination.url_with_credentials)


def test_a_replaced_source_is_reported_and_reconciled_after_its_new_log_passed_the_cursor(source, destination, hooks):
    src, dst = hooks
    before = seed(source, batch(1)) + seed(source, batch(2))
    _, state = run_once(src, dst, None)
    assert state.mark is not None and state.mark.seq == state.seq

    replace_database(source)
    after = seed_past(source, src, state.seq, 10)  # the new log's numbers pass the old cursor's
    run = plan_cursor_run(src, state, None)
    assert run.gap and "replaced or restored" in run.gap and f"Seq {state.seq}" in run.gap
    copy_candidates(src, dst, run.candidates)
    assert instance_ids(destination) == ids(before + after)  # every instance of the new database, counted

    _, state = run_once(src, dst, advance(state, run.after, run.upto, Candidates(), run.mark))
    assert plan_cursor_run(src, state, None).gap is None  # the cursor now knows the new database


def test_a_source_restored_from_an_older_backup_is_reported_and_reconciled(source, destination, hooks, tmp_path):
    src, dst = hooks
    first = seed(source, batch(20))
    _, state = run_once(src, dst, None)
    backup = take_backup(source, tmp_path / "backup")  # taken at this cursor
    second = seed(source, batch(21)) + seed(source, batch(22))
    _, state = run_once(src, dst, state)  # the cursor moves past the backup
    assert instance_ids(destination) == ids(first + second)

    restore_backup(source, backup)  # what arrived after the backup is gone from the source; its Seq go on
    later = seed_past(source, src, state.seq, 30)
    run = plan_cursor_run(src, state, None)
    assert run.gap and "replaced or restored" in run.gap
    copy_candidates(src, dst, run.candidates)
    assert instance_ids(destination) == ids(first + second + later)


def test_a_restore_from_a_backup_taken_after_the_cursor_is_no_gap_and_loses_nothing(source, destination, hooks,
                                                                                  tmp_path):
    """The cursor's change is in the backup, so every change after it in the restored log is read: no false alarm."""
    src, dst = hooks
    first = seed(source, batch(40))
    _, state = run_once(src, dst, None)
    in_backup = seed(source, batch(41))  # after the cursor, before the backup
    backup = take_backup(source, tmp_path / "backup")
    seed(source, batch(42))  # after the backup: the restore takes it off the source, before any run saw it
    restore_backup(source, backup)
    later = seed(source, batch(43))

    run = plan_cursor_run(src, state, None)
    assert run.gap is None
    assert run.candidates.instances == [i.orthanc_id for i in in_backup + later]
    copy_candidates(src, dst, run.candidates)
    assert instance_ids(destination) == ids(first + in_backup + later)


def test_the_cursors_change_deleted_with_its_resource_is_no_gap(source, destination, hooks):
    """Orthanc drops a deleted resource's changes: the cursor's change may vanish on the same source."""
    src, dst = hooks
    kept = seed(source, batch(50))
    seed(source, batch(51))
    _, state = run_once(src, dst, None)
    requests.delete(f"{source.url}{state.mark.path}", auth=source.auth, timeout=10).raise_for_status()
    later = seed(source, batch(52))
    assert [c["Seq"] for c in src.changes(since=state.seq - 1, limit=1)["Changes"]] != [state.seq]  # gone

    run = plan_cursor_run(src, state, None)
    assert run.gap is None and run.candidates.instances == [i.orthanc_id for i in later]
    assert ids(kept) <= instance_ids(destination)


def test_a_cursor_stored_before_marks_is_read_and_gets_one(source, destination, hooks):
    src, dst = hooks
    first = seed(source, batch(60))
    old = load_cursor(f'{{"seq": {newest_seq(src)}, "retry": {{"studies": [], "instances": []}}}}', "the cursor")
    assert old is not None and old.mark is None
    later = seed(source, batch(61))
    run, state = run_once(src, dst, old)
    assert run.gap is None and run.candidates.instances == [i.orthanc_id for i in later]
    assert state.mark is not None and CursorState.from_dict(state.as_dict()) == state
    assert not ids(first) & instance_ids(destination)  # the old cursor's position was honoured


@pytest.mark.parametrize(("text", "reason"), [
    ("not json {", "it is not JSON"),
    ('{"seq": "abc"}', "its seq is not a whole number"),
    ('{"seq": -4}', "its seq is negative"),
    ('[1, 2]', "it is a JSON list, not an object"),
    ('{"seq": 3, "retry": {"instances": "x"}}', "its retry is not"),
    ('{"seq": 3, "mark": {"seq": 3}}', "its mark lacks"),
])
def test_a_bad_cursor_names_where_it_is_kept_what_is_wrong_and_how_to_repair_it(text, reason):
    with pytest.raises(BadCursor) as raised:
        load_cursor(text, "the Airflow Variable 'copydicom_cursor.job.src.dst'")
    message = str(raised.value)
    assert "'copydicom_cursor.job.src.dst'" in message and reason in message
    advice = bad_cursor_gap(raised.value)
    assert "nothing is skipped" in advice and '{"seq": N}' in advice


def test_a_bad_cursor_reconciles_every_study(source, destination, hooks):
    src, dst = hooks
    items = seed(source, batch(70)) + seed(source, batch(71))
    run = plan_cursor_run(src, None, None, broken="the Airflow Variable 'k' does not hold a cursor (it is not JSON)")
    assert run.gap and "'k'" in run.gap and "reconciliation" in run.describe()
    copy_candidates(src, dst, run.candidates)
    assert instance_ids(destination) == ids(items)
    assert advance(None, run.after, run.upto, Candidates(), run.mark).seq == newest_seq(src)
