"""Conditional replicate end to end: real Orthanc servers, tags indexed in the Splunk test server."""

from __future__ import annotations

import io
from datetime import date

import pydicom
import pytest
import requests

from copydicom_provider.deid import AnonymizationProfile
from copydicom_provider.hooks.splunk import SplunkSearchError
from copydicom_provider.jobs.conditional_replicate import conditional_replicate, selection_spl
from copydicom_provider.jobs.replicate_tags import replicate_tags
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.support.fixtures_orthanc import instance_bytes, instance_ids, seed

KEY = "research-project-key-7f3a"


@pytest.fixture
def splunk():
    with SplunkTestServer() as server:
        yield server


@pytest.fixture
def archive(source, splunk):
    """A source with image studies and dose reports of two patients, its tags indexed in Splunk."""
    images = seed(
        source, generate_studies(patients=2, studies_per_patient=1, series_per_study=1, instances_per_series=3)
    )
    reports = []
    for n, (patient, study_date) in enumerate(
        [("PAT-A", date(2024, 1, 5)), ("PAT-A", date(2024, 2, 9)), ("PAT-B", date(2024, 3, 1))]
    ):
        dataset, truth = make_ct_dose_sr(seed=n, patient_id=patient, patient_name=f"Doe^{patient}",
                                          accession_number=f"ACC-{n}", study_date=study_date,
                                          study_uid=pydicom.uid.generate_uid(entropy_srcs=[patient, str(n)]))
        reply = requests.post(f"{source.url}/instances", data=to_bytes(dataset), auth=source.auth).json()
        reports.append((reply["ID"], dataset, truth))
    replicate_tags(source.url_with_credentials, splunk.url(index="dicom"))
    return images, reports


def test_bare_filters_are_scoped_and_full_spl_runs_as_given():
    assert selection_spl('SeriesDescription="Dose Record"', "dicom") == (
        'search index="dicom" (SeriesDescription="Dose Record") '
        "| fields OrthancInstanceID, OrthancSeriesID, OrthancStudyID"
    )
    assert selection_spl(None, "dicom", spl="| search Modality=CT") == "| search Modality=CT"
    with pytest.raises(ValueError, match="empty"):
        selection_spl("   ")


def test_dose_records_only_byte_identical_and_a_rerun_copies_nothing(source, destination, splunk, archive):
    _images, reports = archive
    src, dst, index = source.url_with_credentials, destination.url_with_credentials, splunk.url(index="dicom")
    summary = conditional_replicate(src, index, dst, 'SeriesDescription="Dose Record"')
    assert instance_ids(destination) == {r[0] for r in reports}
    for instance_id, *_ in reports:
        assert instance_bytes(destination, instance_id) == instance_bytes(source, instance_id)
    assert summary.copied == len(reports) and summary.failed == 0
    again = conditional_replicate(src, index, dst, 'SeriesDescription="Dose Record"')
    assert again.copied == 0 and again.already_present == len(reports)


def test_selection_by_other_fields_and_empty_selection(source, destination, splunk, archive):
    images, _ = archive
    src, dst, index = source.url_with_credentials, destination.url_with_credentials, splunk.url(index="dicom")
    ct = [i for i in images if i.modality == "CT"]
    summary = conditional_replicate(src, index, dst, "Modality=CT RecordType=instance")
    assert instance_ids(destination) == {i.orthanc_id for i in ct}
    nothing = conditional_replicate(src, index, dst, "Modality=XA")
    assert nothing.candidates == 0 and nothing.copied == 0 and summary.copied == len(ct)


def test_a_query_splunk_rejects_fails_with_splunks_message(source, destination, splunk, archive):
    with pytest.raises(SplunkSearchError, match=r"(?i)unknown search command"):
        conditional_replicate(source.url_with_credentials, splunk.url(index="dicom"), destination.url_with_credentials,
                              spl='search SeriesDescription="Dose Record" | frobnicate')
    assert instance_ids(destination) == set()


def test_a_selection_splunk_marks_partial_copies_nothing_and_is_left_to_the_retry(source, destination, splunk,
                                                                                  archive, monkeypatch):
    """A search peer down: the selection would lack what that peer holds, and an asset-triggered run searches
    only what was indexed since the last run, so those instances would never be copied."""
    from copydicom_provider.hooks.splunk import SplunkSearchIncomplete
    from copydicom_provider.operators.conditional_replicate import ConditionalReplicateOperator
    from tests.support.fixtures_orthanc import connection_json

    src, dst, index = source.url_with_credentials, destination.url_with_credentials, splunk.url(index="dicom")
    splunk.partial_peers(1)
    with pytest.raises(SplunkSearchIncomplete, match='peer has status = "Down"'):
        conditional_replicate(src, index, dst, 'SeriesDescription="Dose Record"')
    assert instance_ids(destination) == set()

    for conn_id, value in {"src_partial": connection_json(source), "dst_partial": connection_json(destination),
                           "splunk_partial": splunk.connection_json()}.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)
    operator = ConditionalReplicateOperator(task_id="partial", source_conn_id="src_partial",
                                            destination_conn_id="dst_partial", splunk_conn_id="splunk_partial",
                                            query='SeriesDescription="Dose Record"', anonymize=False)
    splunk.partial_peers(1)
    with pytest.raises(SplunkSearchIncomplete):  # not AirflowFailException: Airflow's retry is what settles it
        operator.execute({})
    assert instance_ids(destination) == set()
    conditional_replicate(src, index, dst, 'SeriesDescription="Dose Record"')  # the peer is back
    assert len(instance_ids(destination)) == 3


def test_ids_the_source_no_longer_has_are_reported_not_fatal(source, destination, splunk, archive):
    _, reports = archive
    gone = reports[0][0]
    requests.delete(f"{source.url}/instances/{gone}", auth=source.auth).raise_for_status()
    summary = conditional_replicate(source.url_with_credentials, splunk.url(index="dicom"),
                                    destination.url_with_credentials, 'SeriesDescription="Dose Record"')
    assert summary.vanished == 1 and summary.failed == 0 and summary.copied == len(reports) - 1
    assert instance_ids(destination) == {r[0] for r in reports[1:]}


def test_anonymized_copies_hold_no_original_identifier_and_keep_pseudonyms_stable(source, destination, splunk, archive):
    _, reports = archive
    profile = AnonymizationProfile(key=KEY)
    src, dst, index = source.url_with_credentials, destination.url_with_credentials, splunk.url(index="dicom")
    summary = conditional_replicate(src, index, dst, 'SeriesDescription="Dose Record"', anonymize=profile)
    assert summary.copied == len(reports)
    landed = instance_ids(destination)
    assert len(landed) == len(reports) and not landed & {r[0] for r in reports}  # no original was sent

    copies = [pydicom.dcmread(io.BytesIO(instance_bytes(destination, i))) for i in landed]
    for copy in copies:
        assert copy.PatientID.startswith("ANON-") and str(copy.PatientName) == copy.PatientID
        assert copy.StudyInstanceUID.startswith("2.25.") and copy.SOPInstanceUID.startswith("2.25.")
        assert "ContentSequence" in copy  # dose data kept
        assert "SeriesDescription" not in copy  # Annex E removes descriptions unless the profile keeps them
    everything = b"".join(instance_bytes(destination, i) for i in landed)
    for original, truth in ((r[1], r[2]) for r in reports):
        for event in truth["events"]:  # event UIDs inside the kept content: mapped consistently
            assert event["irradiation_event_uid"].encode() not in everything
            assert profile.uid(event["irradiation_event_uid"]).encode() in everything
        for keyword in ("PatientID", "PatientName", "AccessionNumber", "StudyInstanceUID", "SeriesInstanceUID",
                        "SOPInstanceUID", "PatientBirthDate", "StationName", "DeviceSerialNumber"):
            value = str(original.get(keyword) or "").encode()
            if len(value) >= 4:
                assert value not in everything, f"{keyword} of the original reached the destination"
    by_study = {c.StudyInstanceUID: c.PatientID for c in copies}
    pseudonyms = {c.PatientID for c in copies}
    assert len(by_study) == 3 and len(pseudonyms) == 2  # PAT-A's two studies share one pseudonym
    assert profile.pseudonym("PAT-A") in pseudonyms and profile.pseudonym("PAT-B") in pseudonyms
    patients = requests.get(f"{destination.url}/patients", auth=destination.auth).json()
    assert len(patients) == 2

    again = conditional_replicate(src, index, dst, 'SeriesDescription="Dose Record"', anonymize=profile)
    assert again.copied == 0 and again.already_present == len(reports) and instance_ids(destination) == landed


def test_cli_conditional_replicate_matches_the_library(source, destination, splunk, archive):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    _, reports = archive
    command = [str(Path(sys.executable).with_name("copydicom")), "conditional-replicate",
               "--src", source.url_with_credentials, "--index", splunk.url(index="dicom"),
               "--dest", destination.url_with_credentials, "--query", 'SeriesDescription="Dose Record"', "--json"]
    env = {**os.environ, "COPYDICOM_PSEUDONYM_KEY": KEY}
    result = subprocess.run([*command, "--anonymize"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["copied"] == len(reports)
    assert KEY not in result.stdout + result.stderr and splunk.hec_token not in result.stdout + result.stderr
    library = conditional_replicate(source.url_with_credentials, splunk.url(index="dicom"),
                                    destination.url_with_credentials, 'SeriesDescription="Dose Record"',
                                    anonymize=AnonymizationProfile(key=KEY))
    assert library.copied == 0 and library.already_present == printed["copied"]
    missing_key = subprocess.run([*command, "--anonymize"], capture_output=True, text=True, timeout=120,
                                 env={k: v for k, v in os.environ.items() if k != "COPYDICOM_PSEUDONYM_KEY"})
    assert missing_key.returncode == 2 and "COPYDICOM_PSEUDONYM_KEY" in missing_key.stderr
