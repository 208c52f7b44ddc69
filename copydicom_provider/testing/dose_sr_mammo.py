"""Synthetic mammography Radiation Dose SRs, made with pydicom, with their ground truth.

Why: the accumulated average glandular dose comes once per breast (TID 10005, qualified by
Laterality), and scanners write 0 for a breast that was not imaged; a one-sided exam is where an
average over both breasts goes wrong. :func:`make_mammo_dose_sr` builds a TID 10001 report with one
"Irradiation Event X-Ray Data" container per view (TID 10003: laterality, view, AGD, kVp, exposure
in uAs, compression thickness) and the accumulated AGD per breast: the sum of its views' AGDs, 0 for
a breast not imaged (unless ``unimaged_as_zero`` is false: then that breast is left out).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from copydicom_provider.records.dose_fields import json_number
from copydicom_provider.testing import dose_sr_projection as xa
from copydicom_provider.testing import sr_content as sr
from copydicom_provider.testing.dose_sr import XRAY_RADIATION_DOSE_SR

__all__ = ["make_mammo_dose_sr"]

MAMMOGRAPHY = Code("71651007", "SCT", "Mammography")
LATERALITY = Code("272741003", "SCT", "Laterality")
#: side -> (the event's laterality, the breast the accumulated AGD is given for)
SIDES = {"R": (Code("24028007", "SCT", "Right"), Code("73056007", "SCT", "Right breast")),
         "L": (Code("7771000", "SCT", "Left"), Code("80248007", "SCT", "Left breast"))}
IMAGE_VIEW = Code("111031", "DCM", "Image View")
VIEWS = {"CC": Code("399162004", "SCT", "cranio-caudal"), "MLO": Code("399368009", "SCT", "medio-lateral oblique")}
ACCUMULATED_AGD = Code("111637", "DCM", "Accumulated Average Glandular Dose")
AGD = Code("111631", "DCM", "Average Glandular Dose")
COMPRESSION = Code("111633", "DCM", "Compression Thickness")


def make_mammo_dose_sr(
    *,
    seed: int = 0,
    views: tuple[str, ...] = ("RCC", "RMLO", "LCC", "LMLO"),
    unimaged_as_zero: bool = True,
    patient_id: str = "MAMMO001",
    accession_number: str = "ACC-MG1",
    study_date: date = date(2024, 6, 3),
    study_time: time = time(10, 15, 0),
) -> tuple[Dataset, dict[str, Any]]:
    """A mammography dose SR with one event per view (``RCC``, ``LMLO``, ...) and its ground truth.

    ``truth["agd_per_breast"]`` maps ``"Right breast"``/``"Left breast"`` to the accumulated AGD of the
    breasts imaged; ``truth["agd"]`` is their mean, what the index must hold.
    """
    if not views or any(v[:1] not in SIDES or v[1:] not in VIEWS for v in views):
        raise ValueError(f"views must be names like RCC or LMLO, got {views!r}")
    rng = random.Random(seed)
    entropy = [str(seed), "copydicom-mammo-sr", patient_id, accession_number, *views]

    def uid(tag: str) -> str:
        return generate_uid(entropy_srcs=[*entropy, tag])

    study_uid = uid("study")
    start = datetime.combine(study_date, study_time)
    events: list[dict[str, Any]] = [
        {"side": view[0], "view": view[1:], "uid": uid(f"event{n}"), "started": start + timedelta(minutes=n),
         "agd": round(rng.uniform(0.9, 2.4), 3), "kvp": rng.choice((28, 29, 30, 31)),
         "uas": rng.randrange(40_000, 160_000, 100), "thickness": rng.randrange(35, 75)}
        for n, view in enumerate(views)
    ]
    per_side = {side: sum((Decimal(sr.ds_str(e["agd"])) for e in events if e["side"] == side), Decimal(0))
                for side in SIDES}
    accumulated = []
    for side, (_, breast) in SIDES.items():
        if per_side[side] or unimaged_as_zero:
            item = sr.num_item(ACCUMULATED_AGD, float(per_side[side]), sr.UNIT_MGY)
            item.ContentSequence = [sr.code_item(LATERALITY, breast, "HAS CONCEPT MOD")]
            accumulated.append(item)
    root_children = [
        sr.code_item(codes.DCM.ProcedureReported, MAMMOGRAPHY, "HAS CONCEPT MOD"),
        sr.code_item(codes.DCM.ObserverType, codes.DCM.Device, "HAS OBS CONTEXT"),
        sr.uid_item(codes.DCM.DeviceObserverUID, uid("device"), "HAS OBS CONTEXT"),
        sr.text_item(codes.DCM.DeviceObserverName, "MG-ROOM1", "HAS OBS CONTEXT"),
        sr.datetime_item(codes.DCM.StartOfXRayIrradiation, start, "HAS OBS CONTEXT"),
        sr.container(codes.DCM.AccumulatedXRayDoseData, [sr.code_item(codes.DCM.AcquisitionPlane, xa.SINGLE_PLANE),
                                                      *accumulated], template="10002"),
        *(_event_container(e) for e in events),
    ]
    root = sr.container(codes.DCM.XRayRadiationDoseReport, root_children, relationship=None, template="10001")
    sop_uid = uid("sop")
    ds = sr.sr_document(
        root, sop_class=XRAY_RADIATION_DOSE_SR, sop_uid=sop_uid, series_uid=uid("series"), study_uid=study_uid,
        charset=None, patient_id=patient_id, patient_name="Mammo^Test", patient_sex="F", patient_age="052Y",
        study_date=study_date, study_time=study_time, accession_number=accession_number,
        study_description="Mammography screening", series_description="Dose Report", series_number=999,
        manufacturer="ACME Mammo", station_name="MG-ROOM1",
    )
    imaged = {SIDES[side][1].meaning: json_number(value) for side, value in per_side.items() if value}
    truth = {
        "sop_instance_uid": sop_uid, "study_instance_uid": study_uid, "number_of_events": len(events),
        "agd_per_breast": imaged,
        "agd": json_number(sum((Decimal(str(v)) for v in imaged.values()), Decimal(0)) / len(imaged)),
        "events": [{"irradiation_event_uid": e["uid"], "laterality": SIDES[e["side"]][0].meaning,
                    "view": VIEWS[e["view"]].meaning, "agd": e["agd"], "kvp": e["kvp"],
                    "exposure_mas": json_number(Decimal(e["uas"]) / 1000)} for e in events],
    }
    return ds, truth


def _event_container(e: dict[str, Any]) -> Dataset:
    return sr.container(codes.DCM.IrradiationEventXRayData, [
        sr.code_item(codes.DCM.AcquisitionPlane, xa.SINGLE_PLANE),
        sr.datetime_item(xa.DATETIME_STARTED, e["started"]),
        sr.code_item(codes.DCM.IrradiationEventType, xa.STATIONARY_ACQUISITION),
        sr.uid_item(codes.DCM.IrradiationEventUID, e["uid"]),
        sr.code_item(LATERALITY, SIDES[e["side"]][0]),
        sr.code_item(IMAGE_VIEW, VIEWS[e["view"]]),
        sr.num_item(AGD, e["agd"], sr.UNIT_MGY),
        sr.num_item(codes.DCM.KVP, e["kvp"], codes.UCUM.Kilovolt),
        sr.num_item(codes.DCM.Exposure, e["uas"], xa.VENDOR_UAS),
        sr.num_item(COMPRESSION, e["thickness"], codes.UCUM.Millimeter),
    ], template="10003")
