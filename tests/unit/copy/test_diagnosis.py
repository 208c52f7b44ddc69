"""What went wrong, in words: a full destination, and a push job's end."""

from __future__ import annotations

from types import SimpleNamespace

from copydicom_provider.copy.diagnosis import push_failure_reason, storage_full_reason
from copydicom_provider.hooks.errors import OrthancError

SOURCE = SimpleNamespace(name="source Orthanc")


def test_a_full_destination_says_what_to_do():
    reason = storage_full_reason(OrthancError("destination Orthanc is full"))
    assert reason.startswith("destination Orthanc is full. It cannot store more")
    assert "MaximumStorageSize" in reason and "rerun" in reason


def test_a_push_job_that_succeeded_but_did_not_deliver():
    assert "succeeded but the destination did not store" in push_failure_reason(SOURCE, {"State": "Success"})


def test_a_failed_push_job_is_named_with_its_details():
    job = {"ID": "j1", "State": "Failure", "ErrorDetails": "cancelled after 1 s (peer_job_timeout)"}
    assert push_failure_reason(SOURCE, job) == (
        "Orthanc push job j1 on source Orthanc ended Failure: cancelled after 1 s (peer_job_timeout)")
    assert push_failure_reason(SOURCE, {"ID": "j2", "State": "Paused"}).endswith("ended Paused: Paused")
