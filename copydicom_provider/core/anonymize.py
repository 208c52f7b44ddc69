"""De-identification on the way: a named PS3.15 Annex E profile with stable keyed pseudonyms.

The worker fetches each selected instance from the source, de-identifies it with
:mod:`copydicom_provider.core.deidentify` (pydicom, every depth) and uploads the result; the
original never reaches the destination. Orthanc's own ``/anonymize`` is not used: it keeps nested
sequences whole (SR content, private elements inside sequence items), which a PHI audit fails.

The profile is the Basic Application Level Confidentiality Profile with these options
(``docs/deidentification.md``):

* Retain Longitudinal Temporal Information with Modified Dates (``shift_dates``): one keyed date
  shift per patient applied to every DA and DT value at every depth;
* Clean Structured Content (``clean_structured_content``): SR codes, numbers and UIDs kept
  (UIDs keyed), person names, free text and dates handled as elsewhere;
* Retain Device Identity (``retain_device_identity``, off by default): station, device serial;
* Retain Patient Characteristics (``retain_patient_characteristics``, off by default): sex, age,
  size, weight (dose research per patient size).

Pseudonyms are keyed hashes (HMAC-SHA256 with the destination connection's secret ``pseudonym_secret``):
PatientID and PatientName become ``ANON-<hash>``, instance UIDs ``2.25.<hash>``, so the copy has a
predictable Orthanc ID on the destination and reruns copy nothing twice.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from copydicom_provider.core.orthanc_ids import orthanc_id

#: SOP classes that commonly carry burned-in text: withheld unless BurnedInAnnotation says NO.
BURNED_IN_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture",
    "1.2.840.10008.5.1.4.1.1.7.1": "Multi-frame Single Bit Secondary Capture",
    "1.2.840.10008.5.1.4.1.1.7.2": "Multi-frame Grayscale Byte Secondary Capture",
    "1.2.840.10008.5.1.4.1.1.7.3": "Multi-frame Grayscale Word Secondary Capture",
    "1.2.840.10008.5.1.4.1.1.7.4": "Multi-frame True Color Secondary Capture",
    "1.2.840.10008.5.1.4.1.1.104.1": "Encapsulated PDF",
    "1.2.840.10008.5.1.4.1.1.77.1.1.1": "Video Endoscopic",
    "1.2.840.10008.5.1.4.1.1.77.1.2.1": "Video Microscopic",
    "1.2.840.10008.5.1.4.1.1.77.1.4.1": "Video Photographic",
}
#: Shifts run from 1 day to about 10 years back, chosen per patient by the key.
MAX_SHIFT_DAYS = 3652


@dataclass(frozen=True)
class Identity:
    """The four identifiers Orthanc hashes into an instance's ID."""

    patient_id: str
    study_uid: str
    series_uid: str
    sop_uid: str

    @classmethod
    def from_tags(cls, tags: dict[str, Any]) -> Identity:
        return cls(
            str(tags.get("PatientID") or ""),
            str(tags["StudyInstanceUID"]),
            str(tags["SeriesInstanceUID"]),
            str(tags["SOPInstanceUID"]),
        )


@dataclass(frozen=True)
class AnonymizationProfile:
    """How instances are de-identified; ``key`` is a secret that makes pseudonyms unguessable.

    ``keep`` names attributes (keywords) kept as they are, on the caller's word that they carry no
    PHI (e.g. ``SeriesDescription`` on a site whose descriptions are protocol names);
    ``keep_text_concepts`` lists SR concept code values whose TEXT is kept (default: device
    manufacturer and model, X-ray source id); ``allow_burned_in`` lets instances that may carry
    burned-in text through.
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

    def pseudonym(self, patient_id: str) -> str:
        return "ANON-" + self._digest("patient:" + patient_id).hex()[:16].upper()

    def uid(self, original: str) -> str:
        return "2.25." + str(int.from_bytes(self._digest("uid:" + original)[:16], "big"))

    def date_shift_days(self, patient_id: str) -> int:
        """Days every date of this patient moves back: same for all their instances, run after run."""
        return 1 + int.from_bytes(self._digest("dateshift:" + patient_id)[:8], "big") % MAX_SHIFT_DAYS

    def anonymized(self, identity: Identity) -> Identity:
        return Identity(
            self.pseudonym(identity.patient_id),
            self.uid(identity.study_uid),
            self.uid(identity.series_uid),
            self.uid(identity.sop_uid),
        )

    def target_id(self, identity: Identity) -> str:
        """The Orthanc ID the anonymized instance gets on any Orthanc."""
        target = self.anonymized(identity)
        return orthanc_id(target.patient_id, target.study_uid, target.series_uid, target.sop_uid)

    def withheld_reason(self, tags: dict[str, Any]) -> str | None:
        """Why an instance (its simplified tags) must not be sent de-identified, or None.

        The de-identifier does not touch pixels, so anything that may show a name in its pixels
        (or an embedded document) is held back unless ``allow_burned_in``.
        """
        if self.allow_burned_in:
            return None
        burned_in = str(tags.get("BurnedInAnnotation") or "").strip().upper()
        if burned_in == "YES":
            return "BurnedInAnnotation=YES"
        kind = BURNED_IN_SOP_CLASSES.get(str(tags.get("SOPClassUID") or "").strip())
        if kind and burned_in != "NO":
            return f"{kind} without BurnedInAnnotation=NO"
        return None

    def deidentify(self, data: bytes) -> bytes:
        """A DICOM file de-identified by this profile (see :mod:`copydicom_provider.core.deidentify`)."""
        from copydicom_provider.core.deidentify import deidentify_file

        return deidentify_file(data, self)
