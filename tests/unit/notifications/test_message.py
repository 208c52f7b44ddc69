"""The message: the DAG, the run, its dates, its counts and the first reason, in text and HTML."""

from __future__ import annotations

from datetime import datetime, timezone

from copydicom_provider.notifications.message import MAX_REASON, compose
from copydicom_provider.notifications.run_record import RunRecord, counts, first_reason


def record(**changes) -> RunRecord:
    values = {"dag_id": "copydicom_replicate", "run_id": "scheduled__2026-05-01T00:00:00+00:00",
              "logical_date": datetime(2026, 5, 1, tzinfo=timezone.utc),
              "interval_start": datetime(2026, 4, 30, 23, tzinfo=timezone.utc),
              "interval_end": datetime(2026, 5, 1, tzinfo=timezone.utc),
              "counts": {"candidates": 12, "copied": 9, "failed": 3}, "reason": "the destination is full",
              "failed_task": "copy"}
    return RunRecord(**(values | changes))


def test_the_message_states_dag_run_dates_counts_and_reason():
    message = compose(record())
    assert message.subject == "copydicom: copydicom_replicate failed (run scheduled__2026-05-01T00:00:00+00:00)"
    for fact in ("DAG: copydicom_replicate", "Run: scheduled__2026-05-01T00:00:00+00:00",
                 "Logical date: 2026-05-01T00:00:00+00:00",
                 "Data interval: 2026-04-30T23:00:00+00:00 to 2026-05-01T00:00:00+00:00",
                 "Counts: candidates 12, copied 9, failed 3", "Failed task: copy", "Reason: the destination is full"):
        assert fact in message.text
        assert fact.split(": ", 1)[1] in message.html


def test_html_is_escaped_and_a_long_reason_is_cut_to_one_line():
    message = compose(record(reason="<script>x</script>\n" + "word " * 200, counts={}, logical_date=None))
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    reason = message.text.split("Reason: ", 1)[1].rstrip("\n")
    assert "\n" not in reason and len(reason) == MAX_REASON and reason.endswith("…")
    assert "Counts: none published" in message.text and "Logical date: none (a manual run)" in message.text


def test_counts_come_from_summarize_else_from_the_batches_added_up():
    batch = {"candidates": 5, "copied": 2, "failed": 3, "dry_run": False, "seconds": 1.5, "failures": []}
    assert counts({("copy", "summary"): [batch, batch]}, ["enumerate", "copy", "summarize"]) == {
        "candidates": 10, "copied": 4, "failed": 6}
    total = {"candidates": 7, "copied": 7, "failed_batches": []}
    assert counts({("summarize", "return_value"): [total], ("copy", "summary"): [batch]}, ["copy", "summarize"]) == {
        "candidates": 7, "copied": 7}


def test_the_first_reason_prefers_a_mistake_then_summarize_then_a_batch():
    batch = {"stopped": "", "failures": [["0a1b2c3d-...", "HTTP 500: storage full"]]}
    xcoms = {("copy", "summary"): [batch]}
    assert first_reason(xcoms, ["enumerate", "copy", "summarize"]) == "HTTP 500: storage full"
    xcoms[("summarize", "return_value")] = [{"reason": "2 of 2 batches did not finish"}]
    assert first_reason(xcoms, ["enumerate", "copy", "summarize"]) == "2 of 2 batches did not finish"
    xcoms[("enumerate", "mistake")] = ["since is after until"]
    assert first_reason(xcoms, ["enumerate", "copy", "summarize"]) == "since is after until"
    assert first_reason({}, ["enumerate"]) == ""
