"""run_checks.py: each mistake of a run's parameters refused in one sentence, and good parameters passed.

Connections are real Airflow connections (``AIRFLOW_CONN_*``), looked up as the hooks look them up.
"""

from __future__ import annotations

import json

import pytest

from copydicom_provider.errors import ConfigurationError
from copydicom_provider.jobs.run_checks import check_run, splunk_moment

KEY = "unit-test-pseudonym-key-4711"


def _connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn_type: str = "orthanc", port: int = 8042,
                **extra: str) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(
        {"conn_type": conn_type, "host": "127.0.0.1", "port": port, "login": "orthanc", "password": "orthanc",
         "extra": extra}))
    return conn_id


def _refused(params: dict) -> str:
    with pytest.raises(ConfigurationError) as refused:
        check_run(params)
    sentence = str(refused.value)
    assert "\n" not in sentence and "Traceback" not in sentence and len(sentence) < 300, sentence
    return sentence


@pytest.fixture
def pair(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return {"source_conn_id": _connection(monkeypatch, "rc_src", port=8042),
            "destination_conn_id": _connection(monkeypatch, "rc_dst", port=8043, pseudonym_secret=KEY)}


def test_good_parameters_pass(pair: dict[str, str]) -> None:
    check_run(pair | {"window": "received", "since": "2026-11-29T10:00:00Z", "until": "2026-11-29T11:00:00+00:00",
                      "study_date_from": None, "study_date_to": None, "mode": "rest"})
    check_run(pair | {"window": "study_date", "study_date_from": "2024-03-01", "since": "", "until": "None"})
    check_run(pair | {"window": "all", "anonymize": True, "mode": "rest", "earliest": "-30d", "latest": "now"})


def test_a_window_out_of_order_is_refused(pair: dict[str, str]) -> None:
    sentence = _refused(pair | {"window": "received", "since": "2026-11-29T12:00:00Z", "until": "2026-11-29T11:00:00Z"})
    assert sentence.startswith("since (2026-11-29T12:00:00+00:00) is not before until") and "swap them" in sentence
    assert "is after the last" in _refused({"window": "study_date", "study_date_from": "2020-12-31",
                                            "study_date_to": "2020-01-01"})
    assert "earliest (-1d) is not before latest (-30d)" in _refused({"earliest": "-1d", "latest": "-30d"})
    assert "is not before latest" in _refused({"earliest": "2026-02-01T00:00:00Z", "latest": "2026-01-01"})
    check_run({"earliest": "-1d@d", "latest": "-30d"})  # snapping is Splunk's to read, not refused here


def test_fields_the_window_kind_ignores_are_refused() -> None:
    assert _refused({"window": "all", "since": "2026-11-29T10:00:00Z"}).startswith("window 'all' does not use since:")
    assert "does not use study_date_from and study_date_to: clear them" in _refused(
        {"window": "received", "study_date_from": "2024-01-01", "study_date_to": "2024-02-01"})
    assert "does not use until" in _refused({"window": "study_date", "study_date_from": "2024-01-01",
                                             "until": "2026-01-01T00:00:00Z"})


def test_a_study_date_window_needs_a_date_and_formats_are_named() -> None:
    assert "needs a first study date, a last study date, or both" in _refused({"window": "study_date"})
    assert "since ('yesterday') is not an ISO 8601 date and time" in _refused({"window": "received",
                                                                               "since": "yesterday"})
    assert "study_date_to ('2024-13-01') is not a date" in _refused({"window": "study_date",
                                                                     "study_date_to": "2024-13-01"})
    assert "not a window kind" in _refused({"window": "weekly"})


def test_unknown_and_wrong_connections_are_refused(monkeypatch: pytest.MonkeyPatch, pair: dict[str, str]) -> None:
    unknown = _refused(pair | {"source_conn_id": "rc_no_such_connection"})
    assert "'rc_no_such_connection' is not defined" in unknown and "AIRFLOW_CONN_RC_NO_SUCH_CONNECTION" in unknown
    splunk = _connection(monkeypatch, "rc_splunk", conn_type="splunk", port=8089)
    assert "is of type 'splunk', not 'orthanc'" in _refused(pair | {"destination_conn_id": splunk})
    assert "is of type 'orthanc', not 'splunk'" in _refused(pair | {"splunk_conn_id": pair["source_conn_id"]})
    check_run(pair | {"splunk_conn_id": splunk})


def test_a_copy_onto_its_own_source_is_refused(monkeypatch: pytest.MonkeyPatch, pair: dict[str, str]) -> None:
    assert "are the same Orthanc" in _refused(pair | {"destination_conn_id": pair["source_conn_id"]})
    alias = _connection(monkeypatch, "rc_alias", port=8042)  # another name for the source's server
    assert "the source ('rc_src') and the destination ('rc_alias') are the same Orthanc (http://127.0.0.1:8042)" in (
        _refused(pair | {"destination_conn_id": alias}))


def test_de_identification_needs_rest_mode_and_a_key(monkeypatch: pytest.MonkeyPatch, pair: dict[str, str]) -> None:
    assert "De-identify needs mode 'rest'" in _refused(pair | {"anonymize": True, "mode": "peer"})
    check_run(pair | {"anonymize": False, "mode": "peer"})
    keyless = _connection(monkeypatch, "rc_keyless", port=8044)
    sentence = _refused(pair | {"anonymize": True, "destination_conn_id": keyless})
    assert "set the extra 'pseudonym_secret'" in sentence and "'rc_keyless'" in sentence
    legacy = _connection(monkeypatch, "rc_legacy", port=8045, pseudonym_key=KEY)
    sentence = _refused(pair | {"anonymize": "true", "destination_conn_id": legacy})
    assert "rename it to 'pseudonym_secret'" in sentence and KEY not in sentence


def test_splunk_times_that_can_be_compared() -> None:
    from datetime import datetime, timedelta, timezone

    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert splunk_moment("-30d", now) == now - timedelta(days=30)
    assert splunk_moment("+2h", now) == now + timedelta(hours=2)
    assert splunk_moment("1700000000", now) == datetime.fromtimestamp(1_700_000_000, timezone.utc)
    assert splunk_moment("2026-01-01T00:00:00Z", now) == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert splunk_moment("-1d@d", now) is None and splunk_moment(None, now) is None and splunk_moment("", now) is None
