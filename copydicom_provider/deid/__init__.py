"""De-identification on the way to a research store (PS3.15 Annex E; see ``docs/deidentification.md``).

``options`` holds what a profile says to do, ``keying`` its keyed pseudonyms, ``profile`` the public
:class:`AnonymizationProfile` (the options and what they decide per instance), ``gate`` decides which
instances may leave at all, ``walker`` cleans every element at every depth using ``actions`` (the Annex E table,
resolved), ``dates`` and ``identifiers`` (the safety net).
"""

from copydicom_provider.deid.gate import withheld_reason
from copydicom_provider.deid.identity import Identity
from copydicom_provider.deid.profile import AnonymizationProfile
from copydicom_provider.deid.walker import CannotDeidentify, deidentify_dataset, deidentify_file

__all__ = ["AnonymizationProfile", "CannotDeidentify", "Identity", "deidentify_dataset", "deidentify_file",
           "withheld_reason"]
