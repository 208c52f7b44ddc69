"""Where the de-identification profile used to live; it is :mod:`copydicom_provider.deid` now."""

from copydicom_provider.deid import AnonymizationProfile, CannotDeidentify, Identity

__all__ = ["AnonymizationProfile", "CannotDeidentify", "Identity"]
