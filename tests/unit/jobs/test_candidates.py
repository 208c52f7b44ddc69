"""candidates.resolve_window: the one resolution of a run's window, for DAGs and operators alike."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from copydicom_provider.jobs.candidates import resolve_window

START = datetime(2026, 3, 1, tzinfo=timezone.utc)
END = datetime(2026, 3, 1, 1, tzinfo=timezone.utc)


def test_received_takes_since_until_first_then_the_interval() -> None:
    window = resolve_window({"window": "received", "since": "2026-02-01T00:00:00Z"}, START, END)
    assert (window.kind, window.start, window.end) == ("received", datetime(2026, 2, 1, tzinfo=timezone.utc), END)
    assert resolve_window({"window": "received"}).kind == "all"  # no interval, no bounds: everything


def test_study_date_and_all() -> None:
    window = resolve_window({"window": "study_date", "study_date_from": "20240301", "study_date_to": "2024-03-31"})
    assert window.kind == "study_date"
    assert (window.study_date_from, window.study_date_to) == (date(2024, 3, 1), date(2024, 3, 31))
    assert resolve_window({"window": "all", "since": "2026-02-01"}, START, END).kind == "all"


def test_an_unknown_window_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown window 'weekly'"):
        resolve_window({"window": "weekly"})
