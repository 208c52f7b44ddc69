"""Who an instance belongs to: the identifiers that name its patient and that Orthanc hashes into its ID."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Identity:
    """The identifiers Orthanc hashes into an instance's ID, and the issuer that scopes the patient ID."""

    patient_id: str
    study_uid: str
    series_uid: str
    sop_uid: str
    issuer: str = ""

    @classmethod
    def from_tags(cls, tags: dict[str, Any]) -> Identity:
        """From Orthanc's simplified tags (or any mapping of keywords to values)."""
        return cls(
            str(tags.get("PatientID") or ""),
            str(tags["StudyInstanceUID"]),
            str(tags["SeriesInstanceUID"]),
            str(tags["SOPInstanceUID"]),
            str(tags.get("IssuerOfPatientID") or ""),
        )

    @property
    def patient_key(self) -> str:
        """What names the patient for pseudonyms and date shifts.

        An ID without an issuer keeps the key it always had (research stores filled before issuers
        were taken into account keep their pseudonyms); an empty ID is scoped to its study.
        """
        if not self.patient_id.strip():
            return "study:" + self.study_uid
        if self.issuer.strip():
            return self.issuer.strip() + "\x1f" + self.patient_id
        return self.patient_id
