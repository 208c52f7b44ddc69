"""A bare filter is a filter only: injection strings are refused before anything reaches Splunk.

End to end against the Splunk-compatible test server, with events in a second index that a
scope escape would reach, and real Orthanc servers that must stay untouched.
"""

from __future__ import annotations

import time

import pytest

from copydicom_provider.jobs.conditional_replicate import IndexWindow, UnsafeQuery, conditional_replicate, selection_spl
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.support.fixtures_orthanc import instance_ids, seed

INJECTIONS = {
    "x | collect index=summary_public": "pipe",
    "OR index=hr_payroll Modality=CT": "index=",
    "Modality=CT [search index=hr_payroll | fields OrthancInstanceID]": "subsearch",
    "Modality=CT `hr_macro`": "macro",
    "Modality=CT) OR (Modality=MR": "did not open",
    "(Modality=CT": "parenthesis open",
    'Modality="CT': "unterminated",
    "Modality=CT index = hr_payroll": "index=",
    "Modality=CT INDEX::hr_payroll": "index=",
    "Modality=CT index!=dicom": "index=",
    "earliest=-100y Modality=CT": "earliest=",
    "Modality=CT splunk_server=peer2": "splunk_server=",
}


@pytest.mark.parametrize("injection", sorted(INJECTIONS))
def test_injection_strings_are_refused_with_what_was_wrong(injection):
    with pytest.raises(UnsafeQuery, match=INJECTIONS[injection]) as refused:
        selection_spl(injection, "dicom")
    assert "spl" in str(refused.value) or "filter" in str(refused.value)


def test_quoted_values_may_hold_any_character_and_the_index_is_quoted():
    spl = selection_spl('SeriesDescription="a | b [c] index=x `m` (" Modality=SR', "dicom")
    assert spl.startswith('search index="dicom" (SeriesDescription="a | b [c] index=x `m` (" Modality=SR) | fields ')
    with pytest.raises(ValueError, match="index name"):
        selection_spl("Modality=CT", 'dicom" OR index="hr_payroll')
    with pytest.raises(ValueError, match="not both"):
        selection_spl("Modality=CT", "dicom", spl="search index=dicom")


@pytest.fixture
def two_indexes(source):
    """CT instances indexed in 'dicom'; records in 'hr_payroll' that point at the same instances."""
    images = seed(
        source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=2)
    )
    with SplunkTestServer() as splunk:
        for n, image in enumerate(images):
            record = {"RecordType": "instance", "Modality": image.modality, "OrthancInstanceID": image.orthanc_id}
            splunk.add_event(record, time_=1_700_000_000 + n, index="dicom", indextime=time.time() - 7200)
            splunk.add_event({**record, "Modality": "PAYROLL"}, time_=1_700_000_000 + n, index="hr_payroll")
        yield images, splunk


def test_injections_copy_nothing_and_a_clean_filter_stays_in_its_index(source, destination, two_indexes):
    images, splunk = two_indexes
    src, dst, index = source.url_with_credentials, destination.url_with_credentials, splunk.url(index="dicom")
    for injection in ("OR index=hr_payroll Modality=PAYROLL", "Modality=PAYROLL) OR (Modality=*",
                      "x | collect index=summary_public"):
        with pytest.raises(UnsafeQuery):
            conditional_replicate(src, index, dst, injection)
    assert instance_ids(destination) == set()
    assert conditional_replicate(src, index, dst, "Modality=PAYROLL").candidates == 0  # the other index is out of reach
    summary = conditional_replicate(src, index, dst, "(RecordType=instance)")
    assert summary.copied == len(images)


def test_full_spl_runs_as_written_and_the_index_window_limits_by_index_time(source, destination, two_indexes):
    images, splunk = two_indexes
    src, dst, index = source.url_with_credentials, destination.url_with_credentials, splunk.url(index="dicom")
    recent = IndexWindow(time.time() - 600, time.time())  # the 'dicom' records were indexed two hours ago
    assert conditional_replicate(src, index, dst, "RecordType=instance", indexed=recent).candidates == 0
    earlier = IndexWindow(time.time() - 3 * 3600, time.time() - 3600)
    assert conditional_replicate(src, index, dst, "RecordType=instance", indexed=earlier, dry_run=True).to_copy == len(
        images
    )
    summary = conditional_replicate(
        src, index, dst, spl="search index=hr_payroll Modality=PAYROLL | fields OrthancInstanceID"
    )
    assert summary.copied == len(images)  # trusted SPL may search any index the connection can read
