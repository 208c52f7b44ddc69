"""The keyed pseudonyms that make reruns idempotent: patient pseudonyms, UIDs and date shifts.

Pseudonyms are keyed hashes (HMAC-SHA256 with the destination connection's secret
``pseudonym_secret``): PatientID and PatientName become ``ANON-<hash>``, UIDs ``2.25.<hash>``, so a
copy has a predictable Orthanc ID on the destination and a rerun copies nothing twice. A patient is
named by :attr:`.identity.Identity.patient_key`.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["MAX_SHIFT_DAYS", "keyed_pseudonym", "keyed_shift_days", "keyed_uid"]

#: Shifts run from 1 day to about 10 years back, chosen per patient by the key.
MAX_SHIFT_DAYS = 3652


def _digest(key: str, value: str) -> bytes:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).digest()


def keyed_pseudonym(key: str, patient_key: str) -> str:
    """``ANON-<hash>`` for a patient key."""
    return "ANON-" + _digest(key, "patient:" + patient_key).hex()[:16].upper()


def keyed_uid(key: str, original: str) -> str:
    """The keyed replacement of any UID: the same original gives the same UID everywhere."""
    return "2.25." + str(int.from_bytes(_digest(key, "uid:" + original)[:16], "big"))


def keyed_shift_days(key: str, patient_key: str) -> int:
    """Days every date of this patient moves back: same for all their instances, run after run."""
    return 1 + int.from_bytes(_digest(key, "dateshift:" + patient_key)[:8], "big") % MAX_SHIFT_DAYS
