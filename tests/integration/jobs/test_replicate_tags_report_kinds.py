"""Mammography and radiopharmaceutical dose reports through real Orthanc and the job: their keys reach the index."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from copydicom_provider.hooks.splunk import SplunkHook
from copydicom_provider.jobs.replicate_tags import replicate_tags
from copydicom_provider.testing.dose_sr import to_bytes
from copydicom_provider.testing.dose_sr_mammo import make_mammo_dose_sr
from copydicom_provider.testing.dose_sr_radiopharm import make_radiopharm_dose_sr
from copydicom_provider.testing.splunk import SplunkTestServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def splunk() -> Iterator[SplunkTestServer]:
    with SplunkTestServer() as server:
        yield server


def test_one_sided_mammography_and_an_fdg_administration_are_indexed_as_they_should_be(source, splunk):
    mammo, mammo_truth = make_mammo_dose_sr(seed=5, views=("LCC", "LMLO"))
    nm, nm_truth = make_radiopharm_dose_sr(seed=6, activity=10, activity_unit="mCi", organ_doses={"Bladder": 0.13})
    for ds in (mammo, nm):
        requests.post(f"{source.url}/instances", data=to_bytes(ds), auth=source.auth, timeout=30).raise_for_status()

    summary = replicate_tags(source.url_with_credentials, splunk.url(index="dicom"))

    assert (summary.sent, summary.dose_reports, summary.irradiation_events, summary.incomplete_reports) == (2, 2, 2, 0)
    reports = {r["SOPInstanceUID"]: r for r in map(json.loads, (e.raw for e in splunk.events))
               if r["RecordType"] == "dose_report"}
    breast = reports[mammo_truth["sop_instance_uid"]]
    assert breast["AccumulatedAverageGlandularDose"] == mammo_truth["agd_per_breast"]["Left breast"]
    assert breast["BreastsImaged"] == "Left breast" and "AccumulatedAverageGlandularDose_RightBreast" not in breast
    pet = reports[nm_truth["sop_instance_uid"]]
    assert (pet["AdministeredActivity"], pet["AdministeredActivity_unit"]) == (370, "MBq")
    assert (pet["OrganDose_Bladder"], pet["RouteOfAdministration"]) == (0.13, "Intravenous route")
    rows = search(splunk, 'index=dicom RecordType=dose_report AdministeredActivity>300 '
                                     '| table RadiopharmaceuticalAgent')
    assert rows == [{"RadiopharmaceuticalAgent": nm_truth["agent"]}]


def search(server: SplunkTestServer, query: str) -> list[dict]:
    return list(SplunkHook.from_url(server.url(index="dicom")).search(query, earliest_time="0"))
