"""The de-identification profile: its options and the keyed pseudonyms that make reruns idempotent.

Pseudonyms are keyed hashes (HMAC-SHA256 with the destination connection's secret
``pseudonym_secret``): PatientID and PatientName become ``ANON-<hash>``, UIDs ``2.25.<hash>``, so a
copy has a predictable Orthanc ID on the destination and a rerun copies nothing twice. A patient is
the pair (IssuerOfPatientID, PatientID): two issuers' patients with the same ID are two patients. An
empty PatientID identifies no one, so each study without one is a patient of its own.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from copydicom_provider.deid.gate import withheld_reason
from copydicom_provider.deid.identity import Identity
from copydicom_provider.deid.walker import deidentify_file
from copydicom_provider.dicom.ids import orthanc_id

#: Shifts run from 1 day to about 10 years back, chosen per patient by the key.
MAX_SHIFT_DAYS = 3652


@dataclass(frozen=True)
class AnonymizationProfile:
    """How instances are de-identified; ``key`` is a secret that makes pseudonyms unguessable.

    ``keep`` names attributes (keywords) kept as they are, on the caller's word that they carry no
    PHI (e.g. ``SeriesDescription`` on a site whose descriptions are protocol names; dates in them
    are still shifted and identifiers still hunted); ``keep_text_concepts`` lists SR concept code
    values whose TEXT is kept (default: device manufacturer and model, X-ray source id);
    ``allow_burned_in`` sends instances that may carry burned-in text (never encapsulated documents).
    """

    key: str = field(repr=False)
    shift_dates: bool = True
    clean_structured_content: bool = True
    retain_device_identity: bool = False
    retain_patient_characteristics: bool = False
    allow_burned_in: bool = False
    keep: tuple[str, ...] = ()
    keep_text_concepts: tuple[str, ...] = ("121014", "121015", "113832")

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("anonymize needs a pseudonym key (a secret that keeps pseudonyms stable)")

    def _digest(self, value: str) -> bytes:
        return hmac.new(self.key.encode(), value.encode(), hashlib.sha256).digest()

    def pseudonym(self, patient_key: str) -> str:
        """``ANON-<hash>`` for a patient key (:attr:`Identity.patient_key`)."""
        return "ANON-" + self._digest("patient:" + patient_key).hex()[:16].upper()

    def uid(self, original: str) -> str:
        """The keyed replacement of any UID: the same original gives the same UID everywhere."""
        return "2.25." + str(int.from_bytes(self._digest("uid:" + original)[:16], "big"))

    def date_shift_days(self, patient_key: str) -> int:
        """Days every date of this patient moves back: same for all their instances, run after run."""
        return 1 + int.from_bytes(self._digest("dateshift:" + patient_key)[:8], "big") % MAX_SHIFT_DAYS

    def anonymized(self, identity: Identity) -> Identity:
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
