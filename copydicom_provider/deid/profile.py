"""The de-identification profile: the options (:mod:`.options`) and what they decide for one instance.

Pseudonyms are keyed (:mod:`.keying`), so a copy has a predictable Orthanc ID on the destination and
a rerun copies nothing twice. A patient is the pair (IssuerOfPatientID, PatientID): two issuers'
patients with the same ID are two patients. An empty PatientID identifies no one, so each study
without one is a patient of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from copydicom_provider.deid.gate import withheld_reason
from copydicom_provider.deid.identity import Identity
from copydicom_provider.deid.options import DeidOptions
from copydicom_provider.deid.walker import deidentify_file
from copydicom_provider.dicom.ids import orthanc_id

__all__ = ["AnonymizationProfile"]


@dataclass(frozen=True)
class AnonymizationProfile(DeidOptions):
    """How instances are de-identified (the options: :class:`.options.DeidOptions`), and the means to do it."""

    def anonymized(self, identity: Identity) -> Identity:
        """The identifiers the de-identified instance carries."""
        return Identity(
            self.pseudonym(identity.patient_key),
            self.uid(identity.study_uid),
            self.uid(identity.series_uid),
            self.uid(identity.sop_uid),
        )

    def target_id(self, identity: Identity) -> str:
        """The Orthanc ID the anonymized instance gets on any Orthanc."""
        target = self.anonymized(identity)
        return orthanc_id(target.patient_id, target.study_uid, target.series_uid, target.sop_uid)

    def withheld_reason(self, tags: dict[str, Any]) -> str | None:
        """Why an instance (its simplified tags) must not be sent de-identified, or None."""
        return withheld_reason(tags, allow_burned_in=self.allow_burned_in)

    def deidentify(self, data: bytes) -> bytes:
        """A DICOM file de-identified by this profile (see :mod:`copydicom_provider.deid.walker`)."""
        return deidentify_file(data, self)
