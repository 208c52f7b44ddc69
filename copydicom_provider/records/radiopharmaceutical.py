"""Radiopharmaceutical Radiation Dose SRs (TID 10021-10023): which reports, their concepts, units and organ doses.

Why: a nuclear medicine or PET exam's dose is the activity administered, not an X-ray exposure; without
these reports the index held no administered activity at all. A report of SOP class ...88.68 (or
another SR class whose root is (113500, DCM)) gives one ``dose_report`` record: the radiopharmaceutical
and radionuclide (codes), the administered activity in MBq (``mCi``, ``kBq``, ``GBq`` converted),
pre- and post-administration activity, volume, route, start and stop, and -- where the report has
"Organ Dose Information" (TID 10023) -- each organ's dose under ``OrganDose_<Organ>`` (named by its
finding site). There is no cross-organ ``OrganDose``: a mean over organs means nothing.
"""

from __future__ import annotations

__all__ = ["ORGAN_DOSE_CONTAINER", "ORGAN_NAMING", "RADIOPHARMACEUTICAL_DOSE_SR", "RADIOPHARMACEUTICAL_KEYS",
           "RADIOPHARMACEUTICAL_ROOT", "RADIOPHARMACEUTICAL_UNITS"]

RADIOPHARMACEUTICAL_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.68"
RADIOPHARMACEUTICAL_ROOT = ("DCM", "113500")  # Radiopharmaceutical Radiation Dose Report
#: Organ Dose Information (TID 10023): its values are kept per organ, named by the finding site.
ORGAN_DOSE_CONTAINER = ("DCM", "113517")
ORGAN_NAMING = frozenset({("SCT", "363698007"), ("SRT", "G-C0E3")})

# (scheme, code) -> key, TID 10021 (report), 10022 (administration), 10023 (organ dose).
RADIOPHARMACEUTICAL_KEYS: dict[tuple[str, str], str] = {
    ("DCM", "113503"): "RadiopharmaceuticalAdministrationEventUID",
    ("SCT", "349358000"): "RadiopharmaceuticalAgent",
    ("SRT", "F-61FDB"): "RadiopharmaceuticalAgent",
    ("DCM", "123001"): "Radiopharmaceutical",
    ("SCT", "89457008"): "Radionuclide",
    ("SRT", "C-10072"): "Radionuclide",
    ("SCT", "304283002"): "RadionuclideHalfLife",
    ("SRT", "R-42806"): "RadionuclideHalfLife",
    ("DCM", "123007"): "RadiopharmaceuticalSpecificActivity",
    ("DCM", "123003"): "RadiopharmaceuticalStartDateTime",
    ("DCM", "123004"): "RadiopharmaceuticalStopDateTime",
    ("DCM", "113507"): "AdministeredActivity",
    ("DCM", "123005"): "RadiopharmaceuticalVolume",
    ("DCM", "113508"): "PreAdministrationMeasuredActivity",
    ("DCM", "113509"): "PostAdministrationMeasuredActivity",
    ("DCM", "113505"): "IntravenousExtravasationSymptoms",
    ("DCM", "113506"): "EstimatedExtravasationActivity",
    ("SCT", "410675002"): "RouteOfAdministration",
    ("SRT", "G-C340"): "RouteOfAdministration",
    ("SCT", "363698007"): "FindingSite",
    ("SRT", "G-C0E3"): "FindingSite",
    ("DCM", "113518"): "OrganDose",
    ("DCM", "113519"): "OrganDoseReferenceAuthority",
    ("DCM", "113516"): "PrescriptionIdentifier",
    ("DCM", "113512"): "RadiopharmaceuticalLotIdentifier",
}

_ACTIVITY, _TIME = "MBq", "s"
#: The unit each of these keys is indexed in (merged into records.units.KEY_UNITS).
RADIOPHARMACEUTICAL_UNITS: dict[str, str] = {
    "AdministeredActivity": _ACTIVITY, "PreAdministrationMeasuredActivity": _ACTIVITY,
    "PostAdministrationMeasuredActivity": _ACTIVITY, "EstimatedExtravasationActivity": _ACTIVITY,
    "RadionuclideHalfLife": _TIME, "RadiopharmaceuticalVolume": "cm3", "OrganDose": "mGy",
}
