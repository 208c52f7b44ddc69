"""What leaves in a notification: no password, no HEC token, no patient's name or ID, no UID."""

from __future__ import annotations

import json

from copydicom_provider.notifications.scrub import connection_secrets, scrub

PASSWORD = "Orth4nc-planted-pw"
HEC_TOKEN = "5b1e0c7a-93d2-4f1e-a7c4-hec-planted"
PATIENT_NAME = "MUSTERMANN^ERIKA"
PATIENT_ID = "PID-0047112"
ACCESSION = "ACC-778899"
STUDY_UID = "1.2.826.0.1.3680043.8.498.12345678901234567890"
ORTHANC_ID = "4b9e1c2d-7a8f3e21-0c9d8b7a-6e5f4d3c-2b1a0f9e"


def test_planted_secrets_and_identifiers_do_not_survive():
    reason = (f"source http://copy:{PASSWORD}@pacs.example.org:8042 refused ({PASSWORD}); HEC token {HEC_TOKEN} "
              f"rejected, https://splunk:8088/services/collector?token={HEC_TOKEN}; instance {ORTHANC_ID} of "
              f"{PATIENT_NAME} (PatientID={PATIENT_ID}, \"AccessionNumber\": \"{ACCESSION}\") study {STUDY_UID}; "
              f"patient id: {PATIENT_ID}, (0010,0020) {PATIENT_ID}")
    text = scrub(reason, [PASSWORD, HEC_TOKEN])
    for planted in (PASSWORD, HEC_TOKEN, PATIENT_NAME, "MUSTERMANN", "ERIKA", PATIENT_ID, ACCESSION, STUDY_UID,
                    ORTHANC_ID):
        assert planted not in text, (planted, text)
    assert "pacs.example.org:8042 refused" in text and "<Orthanc ID>" in text and "<UID>" in text


def test_plain_reasons_pass_unchanged():
    reason = ("destination Orthanc at http://127.0.0.1:8042 answered HTTP 500 for POST /instances: The file storage "
              "is full; 1 of 2 batch(es) did not finish (3 failed, 0 not attempted) at 2026-05-01T00:00:00+00:00")
    assert scrub(reason, ["short", "not-in-the-text"]) == reason


def test_secrets_of_the_connections_the_run_names(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SCRUB_SRC", json.dumps({"conn_type": "orthanc", "host": "pacs", "login": "copy",
                                                             "password": PASSWORD}))
    monkeypatch.setenv("AIRFLOW_CONN_SCRUB_IDX", json.dumps({"conn_type": "splunk", "host": "splunk",
                                                             "extra": {"hec_token": HEC_TOKEN, "index": "dicom"}}))
    params = {"source_conn_id": "scrub_src", "index_conn_id": "scrub_idx", "destination_conn_id": "undefined_one",
              "window": "all"}
    assert sorted(connection_secrets(params)) == sorted([PASSWORD, HEC_TOKEN])
