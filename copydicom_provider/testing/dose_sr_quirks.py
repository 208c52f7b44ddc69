"""Vendor oddities seen in real dose reports, added to a synthetic one: items a reader must survive.

Why apart: :func:`.dose_sr.make_ct_dose_sr` (``odd_items=``) adds them where the flattener does not need them, and
the tests name each one (:data:`ODD_ITEMS`) to check the warning it leaves and that nothing else is lost.
"""

from __future__ import annotations

from datetime import datetime

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from copydicom_provider.testing.sr_content import UNIT_MA, code_item, content_item, num_item, raw_value

ODD_NUM_TEXT = "10.50/ 15.00"


ODD_ITEMS = ("no-concept-code", "empty-concept-code", "text-in-num", "empty-measured-value",
             "multi-valued-num", "bad-datetime")


def add_odd_items(root_children: list[Dataset], end: datetime, odd: set[str]) -> dict[str, list[str]]:
    """Vendor oddities seen in real reports, in items the flattener does not need (see make_ct_dose_sr)."""
    warnings: dict[str, list[str]] = {"report": [], "event": []}
    spiral = [i for i in root_children if i.ValueType == "CONTAINER"
              and i.ConceptNameCodeSequence[0].CodeValue == codes.DCM.CTAcquisition.value][1]
    if "bad-datetime" in odd:
        end_item = next(i for i in root_children
                        if i.ConceptNameCodeSequence[0].CodeValue == codes.DCM.EndOfXRayIrradiation.value)
        raw_value(end_item, "DateTime", "DT", end.strftime("%Y-%m-%d %H:%M"))
        warnings["report"].append("DATETIME item EndOfXRayIrradiation has unreadable value")
    if "no-concept-code" in odd:
        root_children.insert(-1, content_item("CONTAINS", "CODE", Code("D1", "99ACME", "Dose Check Status")))
        warnings["report"].append("CODE item DoseCheckStatus has no ConceptCodeSequence")
    if "empty-concept-code" in odd:
        empty_code = code_item(Code("D2", "99ACME", "Scan Options"), Code("X", "99ACME", "x"))
        empty_code.ConceptCodeSequence = Sequence([])
        spiral.ContentSequence.append(empty_code)
        warnings["event"].append("CODE item ScanOptions has no ConceptCodeSequence")
    if "text-in-num" in odd:
        noise = num_item(Code("D3", "99ACME", "Noise Index"), "10.5", Code("1", "UCUM", "no units"))
        raw_value(noise.MeasuredValueSequence[0], "NumericValue", "DS", ODD_NUM_TEXT)
        spiral.ContentSequence.append(noise)
        warnings["event"].append(f"NUM item NoiseIndex has non-numeric value {ODD_NUM_TEXT!r}")
    if "empty-measured-value" in odd:
        empty_range = num_item(codes.DCM.ExposedRange, 1.0, codes.UCUM.Millimeter)
        empty_range.MeasuredValueSequence = Sequence([])  # no value and no qualifier
        spiral.ContentSequence.append(empty_range)
    if "multi-valued-num" in odd:
        per_rotation = num_item(Code("D4", "99ACME", "Tube Current per Rotation"), 1.0, UNIT_MA)
        per_rotation.MeasuredValueSequence[0].NumericValue = ["200", "210", "220", "230", "240"]
        spiral.ContentSequence.append(per_rotation)
    return warnings


def declare_events(ds: Dataset, count: int) -> None:
    """Make a CT report's "Total Number of Irradiation Events" (113812) say ``count``: a report that holds fewer."""
    stack = list(ds.ContentSequence)
    found = False
    while stack:
        item = stack.pop()
        seq = item.get("ConceptNameCodeSequence")
        if seq and seq[0].CodeValue == "113812":
            item.MeasuredValueSequence[0].NumericValue = str(count)
            found = True
        stack += list(item.get("ContentSequence", []))
    if not found:
        raise ValueError("the report has no Total Number of Irradiation Events")
