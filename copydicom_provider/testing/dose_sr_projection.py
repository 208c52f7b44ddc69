"""Synthetic projection X-ray (fluoroscopy) Radiation Dose SRs, made with pydicom, with their ground truth.

Why: long interventional reports are where records outgrow Splunk's limits (hundreds of events,
per-pulse values) and where units differ from CT (exposure time in ms, exposure in uAs, pulse rate
in the vendor's ``pulse/s``). :func:`make_fluoro_dose_sr` builds a TID 10001 report: observer
context, "Accumulated X-Ray Dose Data" (TID 10002/10004/10007 totals), then ``events`` "Irradiation
Event X-Ray Data" containers (TID 10003): every third one a stationary acquisition, the others
pulsed fluoroscopy; each with its UID, start time, DAP (Gy.m2), Dose (RP) written in Gy, and source
data (TID 10003B) whose kVp, tube current and pulse width are multi-valued NUMs, one value per pulse.
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
from copydicom_provider.testing.dose_sr import DIAGNOSTIC_INTENT, HAS_INTENT, NON_ASCII_TEXT, XRAY_RADIATION_DOSE_SR
from copydicom_provider.testing.sr_content import (
    UNIT_MA,
    code_item,
    container,
    datetime_item,
    ds_str,
    num_item,
    sr_document,
    text_item,
    uid_item,
)

__all__ = ["make_fluoro_dose_sr"]

FLUOROSCOPY = Code("44491008", "SCT", "Fluoroscopy")
STATIONARY_ACQUISITION = Code("113611", "DCM", "Stationary Acquisition")
PULSED = Code("113631", "DCM", "Pulsed")
SINGLE_PLANE = Code("113622", "DCM", "Single Plane")
DATETIME_STARTED = Code("111526", "DCM", "DateTime Started")
# Units as vendors write them (not UCUM): the flattener must bring them to one unit per key.
VENDOR_UAS = Code("uAs", "UCUM", "uAs")
VENDOR_PULSE_RATE = Code("pulse/s", "UCUM", "pulse/s")
UNIT_GY_M2 = Code("Gy.m2", "UCUM", "Gy.m2")
UNIT_GY = Code("Gy", "UCUM", "Gy")
UNIT_PULSES = Code("{pulses}", "UCUM", "pulses")


def _d(value: float) -> Decimal:
    return Decimal(ds_str(value))


def make_fluoro_dose_sr(
    *,
    seed: int = 0,
    events: int = 10,
    patient_id: str = "FLUORO01",
    accession_number: str = "ACC-XA1",
    study_uid: str | None = None,
    study_date: date = date(2024, 5, 2),
    study_time: time = time(14, 0, 0),
    pulses: tuple[int, int] = (5, 15),
    long_series_event: int | None = None,
    long_series_pulses: int = 2000,
    charset: str | None = None,
) -> tuple[Dataset, dict[str, Any]]:
    """A fluoroscopy dose SR with ``events`` irradiation events and its ground truth.

    Each fluoroscopy event has between ``pulses`` values per per-pulse NUM; event number
    ``long_series_event`` (1-based) has ``long_series_pulses`` of them, more than fits in one
    record, so its series must be summarised and dropped, not refused.
    """
    if not 1 <= events <= 2000:
        raise ValueError("events must be 1 to 2000")
    if charset is not None and charset not in NON_ASCII_TEXT:
        raise ValueError(f"charset must be one of {sorted(NON_ASCII_TEXT)}")
    rng = random.Random(seed)
    entropy = [str(seed), "copydicom-fluoro-sr", patient_id, accession_number]

    def uid(tag: str) -> str:
        return generate_uid(entropy_srcs=[*entropy, tag])

    study_uid = study_uid or uid("study")
    patient_name, protocol = NON_ASCII_TEXT[charset] if charset else ("Fluoro^Test", "Abdomen DSA")
    start = datetime.combine(study_date, study_time)
    planned = [_plan_event(rng, n, uid, start, pulses, long_series_event, long_series_pulses)
               for n in range(1, events + 1)]
    fluoro = [e for e in planned if e["fluoro"]]
    totals = {
        "dap_total": float(sum((_d(e["dap"]) for e in planned), Decimal(0))),
        "dose_rp_total_mgy": float(sum((_d(e["dose_rp_gy"]) * 1000 for e in planned), Decimal(0))),
        "fluoro_time_s": float(sum((_d(e["duration_s"]) for e in fluoro), Decimal(0))),
    }
    end = planned[-1]["started"] + timedelta(seconds=30)
    accumulated = container(codes.DCM.AccumulatedXRayDoseData, [
        code_item(codes.DCM.AcquisitionPlane, SINGLE_PLANE),
        num_item(codes.DCM.DoseAreaProductTotal, totals["dap_total"], UNIT_GY_M2),
        num_item(codes.DCM.DoseRPTotal, totals["dose_rp_total_mgy"] / 1000, UNIT_GY),
        num_item(codes.DCM.TotalFluoroTime, totals["fluoro_time_s"], codes.UCUM.Second),
        num_item(codes.DCM.TotalNumberOfRadiographicFrames, str(len(planned) - len(fluoro)),
                 Code("1", "UCUM", "no units")),
    ], template="10002")
    root_children = [
        code_item(codes.DCM.ProcedureReported, codes.DCM.ProjectionXRay, "HAS CONCEPT MOD",
                  [code_item(HAS_INTENT, DIAGNOSTIC_INTENT, "HAS CONCEPT MOD")]),
        code_item(codes.DCM.ObserverType, codes.DCM.Device, "HAS OBS CONTEXT"),
        uid_item(codes.DCM.DeviceObserverUID, uid("device"), "HAS OBS CONTEXT"),
        text_item(codes.DCM.DeviceObserverName, "XA-ROOM2", "HAS OBS CONTEXT"),
        datetime_item(codes.DCM.StartOfXRayIrradiation, start, "HAS OBS CONTEXT"),
        datetime_item(codes.DCM.EndOfXRayIrradiation, end, "HAS OBS CONTEXT"),
        code_item(codes.DCM.ScopeOfAccumulation, codes.DCM.Study, "HAS OBS CONTEXT",
                  [uid_item(codes.DCM.StudyInstanceUID, study_uid, "HAS PROPERTIES")]),
        accumulated,
        *(_event_container(e, protocol) for e in planned),
        code_item(codes.DCM.SourceOfDoseInformation, codes.DCM.AutomatedDataCollection),
    ]
    root = container(codes.DCM.XRayRadiationDoseReport, root_children, relationship=None,
                     template="10001")
    sop_uid, series_uid = uid("sop"), uid("series")
    ds = sr_document(
        root, sop_class=XRAY_RADIATION_DOSE_SR, sop_uid=sop_uid, series_uid=series_uid,
        study_uid=study_uid, charset=charset, patient_id=patient_id, patient_name=patient_name,
        patient_sex="M", patient_age="067Y", study_date=study_date, study_time=study_time,
        accession_number=accession_number, study_description="XA Abdomen",
        series_description="Radiation Dose Report", series_number=999, manufacturer="ACME Angio",
        station_name="XA-ROOM2",
    )
    ds.ManufacturerModelName = "Angiomatic"
    ds.DeviceSerialNumber = "XA-7"
    ds.SoftwareVersions = "2.0"
    truth = {
        "sop_instance_uid": sop_uid, "study_instance_uid": study_uid, "accession_number": accession_number,
        "protocol": protocol, **totals, "number_of_events": events,
        "events": [_event_truth(e) for e in planned],
    }
    return ds, truth


def _plan_event(rng: random.Random, n: int, uid, start: datetime, pulses: tuple[int, int],
                long_series_event: int | None, long_series_pulses: int) -> dict[str, Any]:
    fluoro = n % 3 != 0
    count = long_series_pulses if n == long_series_event else rng.randint(*pulses)
    if not fluoro:
        count = 1
    kvp = [float(rng.choice([70, 72, 75, 78, 80])) for _ in range(count)]
    return {
        "n": n,
        "fluoro": fluoro,
        "uid": uid(f"event-{n}"),
        "started": start + timedelta(seconds=40 * n),
        "dap": round(rng.uniform(1e-6, 5e-4), 9),
        "dose_rp_gy": round(rng.uniform(1e-5, 2e-3), 8),
        "kvp": kvp,
        "ma": [round(rng.uniform(5.0, 60.0), 1) for _ in range(count)],
        "pulse_width_ms": [round(rng.uniform(3.0, 12.0), 1) for _ in range(count)],
        "pulse_rate": rng.choice([7.5, 15.0]) if fluoro else None,
        "duration_s": round(rng.uniform(0.5, 20.0), 2),
        "exposure_time_ms": round(rng.uniform(50.0, 4000.0), 1),
        "exposure_uas": round(rng.uniform(500.0, 90000.0), 1),
        "pulses": count,
    }


def _multi(concept: Code, values: list[float], unit: Code) -> Dataset:
    item = num_item(concept, values[0], unit)
    if len(values) > 1:
        item.MeasuredValueSequence[0].NumericValue = [ds_str(v) for v in values]
    return item


def _event_container(e: dict[str, Any], protocol: str) -> Dataset:
    children = [
        code_item(codes.DCM.AcquisitionPlane, SINGLE_PLANE),
        datetime_item(DATETIME_STARTED, e["started"]),
        code_item(codes.DCM.IrradiationEventType, FLUOROSCOPY if e["fluoro"] else STATIONARY_ACQUISITION),
        text_item(codes.DCM.AcquisitionProtocol, protocol),
        uid_item(codes.DCM.IrradiationEventUID, e["uid"]),
        num_item(codes.DCM.DoseAreaProduct, e["dap"], UNIT_GY_M2),
        num_item(codes.DCM.DoseRP, e["dose_rp_gy"], UNIT_GY),
    ]
    if e["fluoro"]:
        children += [
            code_item(codes.DCM.FluoroMode, PULSED),
            num_item(codes.DCM.PulseRate, e["pulse_rate"], VENDOR_PULSE_RATE),
        ]
    children += [
        num_item(codes.DCM.NumberOfPulses, str(e["pulses"]), UNIT_PULSES),
        _multi(codes.DCM.KVP, e["kvp"], codes.UCUM.Kilovolt),
        _multi(codes.DCM.XRayTubeCurrent, e["ma"], UNIT_MA),
        _multi(codes.DCM.PulseWidth, e["pulse_width_ms"], codes.UCUM.Millisecond),
        num_item(Code("113735", "DCM", "Exposure Time"), e["exposure_time_ms"], codes.UCUM.Millisecond),
        num_item(codes.DCM.Exposure, e["exposure_uas"], VENDOR_UAS),
        num_item(codes.DCM.IrradiationDuration, e["duration_s"], codes.UCUM.Second),
    ]
    return container(codes.DCM.IrradiationEventXRayData, children, template="10003")


def _summary(values: list[float]) -> dict[str, Any]:
    numbers = [_d(v) for v in values]
    return {"mean": json_number(sum(numbers, Decimal(0)) / len(numbers)),
            "min": json_number(min(numbers)), "max": json_number(max(numbers)), "count": len(numbers)}


def _event_truth(e: dict[str, Any]) -> dict[str, Any]:
    """Values in the units the index holds them in: mGy, Gy.m2, s, mA.s, ms, {pulse}/s."""
    return {
        "irradiation_event_uid": e["uid"],
        "fluoro": e["fluoro"],
        "started": e["started"].isoformat(),
        "dap": float(_d(e["dap"])),
        "dose_rp_mgy": json_number(_d(e["dose_rp_gy"]) * 1000),
        "pulse_rate": e["pulse_rate"] and json_number(_d(e["pulse_rate"])),
        "exposure_time_s": json_number(_d(e["exposure_time_ms"]) / 1000),
        "exposure_mas": json_number(_d(e["exposure_uas"]) / 1000),
        "duration_s": json_number(_d(e["duration_s"])),
        "kvp": _summary(e["kvp"]),
        "tube_current": _summary(e["ma"]),
        "pulse_width_ms": _summary(e["pulse_width_ms"]),
        "pulses": e["pulses"],
    }
