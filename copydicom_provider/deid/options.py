"""What a de-identification profile says to do: its options and its key (what the walker reads).

Why apart from :mod:`.profile`: the walker needs the options, and the profile calls the walker; with
the options here neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from copydicom_provider.deid.keying import keyed_pseudonym, keyed_shift_days, keyed_uid

__all__ = ["DeidOptions"]


@dataclass(frozen=True)
class DeidOptions:
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

    def pseudonym(self, patient_key: str) -> str:
        """``ANON-<hash>`` for a patient key (:attr:`.identity.Identity.patient_key`)."""
        return keyed_pseudonym(self.key, patient_key)

    def uid(self, original: str) -> str:
        """The keyed replacement of any UID: the same original gives the same UID everywhere."""
        return keyed_uid(self.key, original)

    def date_shift_days(self, patient_key: str) -> int:
        """Days every date of this patient moves back: same for all their instances, run after run."""
        return keyed_shift_days(self.key, patient_key)
