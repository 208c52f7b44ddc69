"""Synthetic Radiopharmaceutical Radiation Dose SRs (TID 10021), made with pydicom, with their ground truth.

Why: nuclear medicine and PET exams report the activity administered, in units of their own (MBq, or mCi
on older US systems), and organ doses where the report estimates them. :func:`make_radiopharm_dose_sr`
builds a report with one "Radiopharmaceutical Administration" (TID 10022: agent, radionuclide, half
life, activity, volume, route, start and stop) and, if asked, "Organ Dose Information" per organ
(TID 10023: finding site, organ dose).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from copydicom_provider.records.dose_fields import json_number
from copydicom_provider.records.radiopharmaceutical import RADIOPHARMACEUTICAL_DOSE_SR
from copydicom_provider.testing import sr_content as sr

__all__ = ["make_radiopharm_dose_sr"]

REPORT = Code("113500", "DCM", "Radiopharmaceutical Radiation Dose Report")
ADMINISTRATION = Code("113502", "DCM", "Radiopharmaceutical Administration")
ORGAN_DOSE_INFORMATION = Code("113517", "DCM", "Organ Dose Information")
CONCEPTS = {
    "agent": Code("349358000", "SCT", "Radiopharmaceutical agent"),
    "nuclide": Code("89457008", "SCT", "Radionuclide"),
    "half_life": Code("304283002", "SCT", "Radionuclide Half Life"),
    "uid": Code("113503", "DCM", "Radiopharmaceutical Administration Event UID"),
    "start": Code("123003", "DCM", "Radiopharmaceutical Start DateTime"),
    "stop": Code("123004", "DCM", "Radiopharmaceutical Stop DateTime"),
    "activity": Code("113507", "DCM", "Administered activity"),
    "volume": Code("123005", "DCM", "Radiopharmaceutical Volume"),
    "route": Code("410675002", "SCT", "Route of administration"),
    "site": Code("363698007", "SCT", "Finding Site"),
    "organ_dose": Code("113518", "DCM", "Organ Dose"),
}
FDG = Code("35321007", "SCT", "Fluorodeoxyglucose F^18^")
F18 = Code("77004003", "SCT", "^18^Fluorine")
INTRAVENOUS = Code("47625008", "SCT", "Intravenous route")
UNITS = {"MBq": Code("MBq", "UCUM", "MBq"), "mCi": Code("mCi", "UCUM", "mCi"), "cm3": Code("cm3", "UCUM", "cm3"),
         "s": Code("s", "UCUM", "s")}
#: What every generated report's document says besides its identifiers and dates.
_EXAM: dict[str, Any] = {
    "sop_class": RADIOPHARMACEUTICAL_DOSE_SR, "charset": None, "patient_name": "Nuclear^Test", "patient_sex": "M",
    "patient_age": "061Y", "study_description": "PET-CT whole body", "series_description": "Radiopharmaceutical Dose",
    "series_number": 998, "manufacturer": "ACME Nuclear", "station_name": "PET1",
}
ORGANS = {"Bladder": Code("89837001", "SCT", "Bladder"), "Brain": Code("12738006", "SCT", "Brain"),
          "Liver": Code("10200004", "SCT", "Liver")}


def make_radiopharm_dose_sr(
    *,
    seed: int = 0,
    activity: float = 296.0,
    activity_unit: str = "MBq",
    organ_doses: dict[str, float] | None = None,
    patient_id: str = "NM000001",
    accession_number: str = "ACC-PT1",
    study_date: date = date(2024, 7, 8),
    study_time: time = time(8, 45, 0),
) -> tuple[Dataset, dict[str, Any]]:
    """An FDG administration of ``activity`` (in ``activity_unit``: MBq or mCi), and its ground truth.

    ``organ_doses`` (organ name in :data:`ORGANS` -> mGy) adds one Organ Dose Information per organ.
    ``truth["activity_mbq"]`` is the activity the index must hold, in MBq.
    """
    if activity_unit not in ("MBq", "mCi"):
        raise ValueError("activity_unit must be MBq or mCi")
    entropy = [str(seed), "copydicom-radiopharm-sr", patient_id, accession_number]

    def uid(tag: str) -> str:
        return generate_uid(entropy_srcs=[*entropy, tag])

    study_uid, start = uid("study"), datetime.combine(study_date, study_time)
    c = CONCEPTS
    organs = [sr.container(ORGAN_DOSE_INFORMATION, [
        sr.code_item(c["site"], ORGANS[organ]),
        sr.num_item(c["organ_dose"], dose, sr.UNIT_MGY),
    ], template="10023") for organ, dose in (organ_doses or {}).items()]
    administration = sr.container(ADMINISTRATION, [
        sr.code_item(c["agent"], FDG),
        sr.code_item(c["nuclide"], F18),
        sr.num_item(c["half_life"], 6586.2, UNITS["s"]),
        sr.uid_item(c["uid"], uid("administration")),
        sr.datetime_item(c["start"], start),
        sr.datetime_item(c["stop"], start + timedelta(seconds=40)),
        sr.num_item(c["activity"], activity, UNITS[activity_unit]),
        sr.num_item(c["volume"], 2.5, UNITS["cm3"]),
        sr.code_item(c["route"], INTRAVENOUS),
        *organs,
    ], template="10022")
    root = sr.container(REPORT, [
        sr.code_item(codes.DCM.ProcedureReported, Code("440252007", "SCT", "Administration of radiopharmaceutical"),
                     "HAS CONCEPT MOD"),
        sr.code_item(codes.DCM.ObserverType, codes.DCM.Device, "HAS OBS CONTEXT"),
        sr.uid_item(codes.DCM.DeviceObserverUID, uid("device"), "HAS OBS CONTEXT"),
        administration,
    ], relationship=None, template="10021")
    sop_uid = uid("sop")
    ds = sr.sr_document(root, **_EXAM, sop_uid=sop_uid, series_uid=uid("series"), study_uid=study_uid,
                        patient_id=patient_id, study_date=study_date, study_time=study_time,
                        accession_number=accession_number)
    factor = Decimal(37) if activity_unit == "mCi" else Decimal(1)
    truth = {
        "sop_instance_uid": sop_uid, "study_instance_uid": study_uid,
        "administration_uid": uid("administration"), "agent": FDG.meaning, "radionuclide": F18.meaning,
        "route": INTRAVENOUS.meaning, "start": start.isoformat(),
        "activity_mbq": json_number(Decimal(sr.ds_str(activity)) * factor),
        "organ_doses": {organ: json_number(Decimal(sr.ds_str(dose))) for organ, dose in (organ_doses or {}).items()},
    }
    return ds, truth
