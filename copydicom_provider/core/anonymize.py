"""De-identification on the way: what Orthanc's own anonymizer produces, with stable pseudonyms.

The source Orthanc anonymizes (``POST /instances/{id}/anonymize``, PS3.15 basic profile as Orthanc
implements it) and the worker uploads the result; the original never reaches the destination.
On top of Orthanc's defaults the profile:

* replaces PatientID and PatientName by a pseudonym derived from the PatientID with a keyed hash
  (HMAC-SHA256 with the project's pseudonym key), so one patient's studies stay together on the
  destination, run after run, while the key stays secret;
* replaces Study/Series/SOP Instance UIDs by ``2.25.<keyed hash of the original UID>``, so the
  anonymized instance has a predictable Orthanc ID on the destination: reruns copy nothing twice;
* keeps ``StudyDescription``, ``SeriesDescription`` and the SR ``ContentSequence`` (the dose data a
  research store wants), plus whatever ``keep`` adds; removes what ``remove`` adds;
* inside kept sequences, which Orthanc copies as they are, replaces every UID (keys ending in
  ``UID``) by its keyed-hash UID (consistent, so Irradiation Event UIDs still tell resent reports
  apart), the PatientID by the pseudonym, and empties person names (``PersonName``) and any value
  equal to an identifying header attribute (``IDENTIFYING``: name, birth date, accession number,
  station, institution, device serial number, ...), each by its exact path
  (``ContentSequence[9].ContentSequence[0].UID``).
  Free text is kept as written: a site whose reports carry names in TEXT items adds them to
  ``remove``.

Everything else (names, dates, accession number, station, birth date, ...) is handled by Orthanc's
anonymizer: emptied, removed or replaced.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from copydicom_provider.core.orthanc_ids import orthanc_id

DEFAULT_KEEP = ("StudyDescription", "SeriesDescription", "ContentSequence")
#: Header attributes the basic profile removes; their values are also hunted inside kept sequences.
IDENTIFYING = (
    "PatientName", "PatientBirthDate", "AccessionNumber", "StudyID", "StationName", "InstitutionName",
    "InstitutionAddress", "ReferringPhysicianName", "OperatorsName", "PerformingPhysicianName",
    "DeviceSerialNumber", "OtherPatientIDs",
)
UID_VALUE = re.compile(r"^[0-9]+(\.[0-9]+)+$")
UID_TAGS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


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
    """How instances are de-identified; ``key`` is a secret that makes pseudonyms unguessable."""

    key: str = field(repr=False)
    keep: tuple[str, ...] = DEFAULT_KEEP
    remove: tuple[str, ...] = ()
    replace: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("anonymize needs a pseudonym key (a secret that keeps pseudonyms stable)")

    def _digest(self, value: str) -> bytes:
        return hmac.new(self.key.encode(), value.encode(), hashlib.sha256).digest()

    def pseudonym(self, patient_id: str) -> str:
        return "ANON-" + self._digest("patient:" + patient_id).hex()[:16].upper()

    def uid(self, original: str) -> str:
        return "2.25." + str(int.from_bytes(self._digest("uid:" + original)[:16], "big"))

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

    def request(self, identity: Identity, tags: dict[str, Any] | None = None) -> dict[str, Any]:
        """The body of Orthanc's ``/anonymize`` call for one instance (``tags``: its simplified tags)."""
        target = self.anonymized(identity)
        replace = {
            **self.kept_sequence_replacements(identity, tags or {}),
            "PatientID": target.patient_id,
            "PatientName": target.patient_id,
            "StudyInstanceUID": target.study_uid,
            "SeriesInstanceUID": target.series_uid,
            "SOPInstanceUID": target.sop_uid,
            **dict(self.replace),
        }
        body: dict[str, Any] = {"Replace": replace, "Keep": list(self.keep), "Force": True, "KeepPrivateTags": False}
        if self.remove:
            body["Remove"] = list(self.remove)
        return body

    def kept_sequence_replacements(self, identity: Identity, tags: dict[str, Any]) -> dict[str, str]:
        """Replacements, by path, for identifiers inside the sequences Orthanc is told to keep."""
        identifying = {str(tags.get(keyword) or "").strip() for keyword in IDENTIFYING} - {""}
        replacements: dict[str, str] = {}
        for keyword in self.keep:
            for path, key, value in _leaves(tags.get(keyword), keyword):
                if key.endswith("UID") and UID_VALUE.match(value):
                    replacements[path] = self.uid(value)
                elif value.strip() == identity.patient_id:
                    replacements[path] = self.pseudonym(identity.patient_id)
                elif key == "PersonName" or value.strip() in identifying:
                    replacements[path] = ""
        return replacements


def _leaves(value: Any, path: str, key: str = "") -> Iterator[tuple[str, str, str]]:
    """(path, key, value) of every string inside a simplified-tags sequence, in Orthanc's path syntax."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}[{index}]", key)
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _leaves(item, f"{path}.{name}", name)
    elif isinstance(value, str) and "[" in path:
        yield path, key, value
