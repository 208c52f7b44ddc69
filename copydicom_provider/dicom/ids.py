"""Orthanc's resource IDs, computed from DICOM identifiers (pure Python, no Airflow).

Why compute rather than ask: Orthanc derives every ID from the instance's own identifiers, so the
four IDs of an instance (patient, study, series, instance) cost no request once its header is read,
and they are the same on every Orthanc.
"""

from __future__ import annotations

import hashlib

from pydicom.dataset import Dataset

from copydicom_provider.dicom.sr_items import ContentItem

__all__ = ["orthanc_id", "orthanc_ids"]


def orthanc_id(*uids: str) -> str:
    """Orthanc's resource ID: SHA-1 of the ``|``-joined identifiers, in five dash-separated groups.

    Patient: (PatientID); study: (+StudyInstanceUID); series: (+SeriesInstanceUID);
    instance: (+SOPInstanceUID).
    """
    digest = hashlib.sha1("|".join(uids).encode()).hexdigest()
    return "-".join(digest[i : i + 8] for i in range(0, 40, 8))


def orthanc_ids(ds: Dataset | ContentItem) -> dict[str, str]:
    """``OrthancPatientID``, ``OrthancStudyID``, ``OrthancSeriesID``, ``OrthancInstanceID`` of ``ds``.

    Orthanc strips the identifiers before hashing; a caller compares the instance ID with the one
    Orthanc listed and asks Orthanc instead when they differ (unusual identifiers).
    """
    parts = [str(ds.get(keyword, "") or "").strip()
             for keyword in ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")]
    return {
        "OrthancPatientID": orthanc_id(*parts[:1]),
        "OrthancStudyID": orthanc_id(*parts[:2]),
        "OrthancSeriesID": orthanc_id(*parts[:3]),
        "OrthancInstanceID": orthanc_id(*parts),
    }
