"""A quarter of generated data for the reporting tests: dose SRs and images, replicated to the stand-in.

Q1 2025 holds CT dose reports from two scanners over three months (one resent by its scanner,
one with vendor quirks), CT and MR image studies; one report on 2 April 2025 lies outside the
quarter. ``expected_*`` compute what the report must say, from the generator's ground truth.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

import numpy as np
import requests
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from copydicom_provider.jobs.replicate_tags import replicate_tags
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from tests.support.fixtures_orthanc import seed

INDEX = "dicom"
#: The report whose descriptions the shipped exam-name table does not know; the others are "CT TAP with contrast".
UNMAPPED_SEED = 13
#: The scanner whose reports carry SSDE and the water-equivalent diameter (CT1's do not: where a report has them).
SIZE_STATION = "CT2"
Q1 = (date(2025, 1, 1), date(2025, 3, 31))


def _upload(server, ds: Dataset) -> None:
    requests.post(f"{server.url}/instances", data=to_bytes(ds), auth=server.auth, timeout=30).raise_for_status()


def _resent(ds: Dataset) -> Dataset:
    copy = Dataset(ds)
    copy.file_meta = ds.file_meta
    copy.SOPInstanceUID = copy.file_meta.MediaStorageSOPInstanceUID = generate_uid(
        entropy_srcs=[ds.SOPInstanceUID, "resent"]
    )
    return copy


def seed_quarter(source, splunk) -> dict[str, Any]:
    """Upload the quarter's data to Orthanc and index it with replicate-tags; returns the ground truth."""
    plan = [  # (seed, station, study date, spirals, quirks)
        (11, "CT1", date(2025, 1, 8), 2, False),
        (12, "CT1", date(2025, 1, 20), 1, False),
        (13, "CT2", date(2025, 2, 3), 2, False),
        (14, "CT2", date(2025, 2, 17), 1, True),
        (15, "CT1", date(2025, 3, 5), 2, False),
        (16, "CT2", date(2025, 3, 28), 2, False),
        (17, "CT1", date(2025, 4, 2), 2, False),  # next quarter
    ]
    truths = []
    first = None
    for number, (s, station, day, spirals, quirks) in enumerate(plan):
        named = {"study_description": "Polytrauma", "requested_procedure_description": "Trauma protocol"} \
            if s == UNMAPPED_SEED else {}  # no row of the shipped exam-name table names these
        ds, truth = make_ct_dose_sr(seed=s, patient_id=f"Q{s}", accession_number=f"QA{s}", station_name=station,
                                    study_date=day, study_time=time(10, number), spiral_count=spirals, quirks=quirks,
                                    size_estimates=station == SIZE_STATION, **named)
        _upload(source, ds)
        truth["station"] = station
        truths.append(truth)
        first = first or ds
    _upload(source, _resent(first))  # the scanner sends its first report again: same irradiation events
    images = seed(source, generate_studies(patients=3, studies_per_patient=2, series_per_study=1,
                                           instances_per_series=2, start_date=Q1[0], end_date=Q1[1], seed=7))
    summary = replicate_tags(source.url_with_credentials, splunk.url(index=INDEX))
    assert summary.failed == 0
    return {"truths": truths, "images": images}


def quarter_events(truths: list[dict]) -> list[dict]:
    """Each Q1 event once, with its report's station and study date."""
    events = {}
    for truth in truths:
        if not "2025-01-01" <= truth["study_date"] < "2025-04-01":
            continue
        for event in truth["events"]:
            events[event["irradiation_event_uid"]] = event | {
                "station": truth["station"],
                "month": truth["study_date"][:7],
                "study_instance_uid": truth["study_instance_uid"],
            }
    return list(events.values())


def expected_stats(values: list[float]) -> dict[str, float]:
    array = np.array(values, dtype=float)
    return {"count": len(values), "mean": float(array.mean()), "median": float(np.percentile(array, 50)),
            "p75": float(np.percentile(array, 75)), "max": float(array.max())}


def expected_by_protocol(events: list[dict], quantity: str, station: str | None = None) -> dict[str, dict]:
    key = {"CTDIvol": "ctdivol", "DLP": "dlp"}[quantity]
    groups: dict[str, list[float]] = {}
    for event in events:
        if event[key] is None or is_localizer(event) or (station and event["station"] != station):
            continue
        groups.setdefault(event["acquisition_protocol"], []).append(event[key])
    return {protocol: expected_stats(values) for protocol, values in groups.items()}


def is_localizer(event: dict) -> bool:
    """The generator's localizer is its Topogram (filed as a stationary acquisition, as some scanners do)."""
    return event["acquisition_protocol"] == "Topogram"


def expected_exam_dlp(events: list[dict]) -> dict[str, float]:
    """Per study: the total DLP of its scans, localizers left out."""
    totals: dict[str, float] = {}
    for event in events:
        if event["dlp"] is not None and not is_localizer(event):
            totals[event["study_instance_uid"]] = totals.get(event["study_instance_uid"], 0.0) + event["dlp"]
    return totals
