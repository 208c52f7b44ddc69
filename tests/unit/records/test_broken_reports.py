"""Broken dose reports: an unreadable item costs only itself, is named in ParseWarnings, and never raises."""

from __future__ import annotations

import io
import re

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes

from copydicom_provider.records.dose import dose_records
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from tests.support.sr_trees import code_ds, report, roundtrip


def _broken(mutate) -> Dataset:
    ds, _ = make_ct_dose_sr()
    mutate(ds)
    return ds


def _spiral(ds: Dataset) -> Dataset:
    return [i for i in ds.ContentSequence
            if i.ConceptNameCodeSequence[0].CodeValue == "113819"][1]


@pytest.mark.filterwarnings("ignore:Invalid value for VR DT")
@pytest.mark.parametrize(("mutate", "where", "problem", "lost"), [
    (lambda ds: delattr(_spiral(ds).ContentSequence[0], "ValueType"), "1.13.1", "no ValueType",
     "AcquisitionProtocol"),
    (lambda ds: delattr(_spiral(ds).ContentSequence[1], "ConceptCodeSequence"), "1.13.2",
     "no ConceptCodeSequence", "TargetRegion"),
    (lambda ds: setattr(_spiral(ds).ContentSequence[1], "ConceptCodeSequence", Sequence([])),
     "1.13.2", "no ConceptCodeSequence", "TargetRegion"),
    (lambda ds: delattr(_spiral(ds).ContentSequence[0], "ConceptNameCodeSequence"), "1.13.1",
     "no concept name", "AcquisitionProtocol"),
    (lambda ds: delattr(_spiral(ds).ContentSequence[4], "UID"), "1.13.5", "no UID",
     "IrradiationEventUID"),
    (lambda ds: setattr(ds.ContentSequence[7], "DateTime", "2024-03-14 09:30"), "1.8",
     "unreadable value", "StartOfXRayIrradiation"),
    (lambda ds: delattr(ds.ContentSequence[1].ConceptNameCodeSequence[0], "CodeValue"), "1.2",
     "no code value", "ObserverType"),
])
def test_an_unreadable_item_is_skipped_and_named_and_the_rest_is_flattened(mutate, where, problem, lost):
    ds = _broken(mutate)
    good, _truth = make_ct_dose_sr()
    records, expected = dose_records(ds), dose_records(good)
    assert [r["RecordType"] for r in records] == [r["RecordType"] for r in expected]
    warned = [r for r in records if "ParseWarnings" in r]
    assert len(warned) == 1
    warning = warned[0]["ParseWarnings"]
    assert " | " not in warning
    assert warning.startswith(f"{where}: ") and problem in warning and warning.endswith("skipped")
    assert lost not in warned[0]
    assert records[0]["ParseWarningCount"] == 1
    for got, want in zip(records, expected, strict=True):  # everything else is as in the good report
        rest = {k: v for k, v in got.items() if k not in ("ParseWarnings", "ParseWarningCount", lost,
                                                         f"{lost}_code", "FirstIrradiationEventUID")}
        assert rest == {k: v for k, v in want.items() if k not in (lost, f"{lost}_code",
                                                                   "FirstIrradiationEventUID")}


def test_text_in_a_num_read_from_a_file_is_skipped_and_named():
    ds, truth = make_ct_dose_sr()
    ct_dose = _spiral(ds).ContentSequence[6]
    ct_dose.ContentSequence[0].MeasuredValueSequence[0].NumericValue = "7777.77"
    data = to_bytes(ds).replace(b"7777.77 ", b"abc.def ")  # same length, not a number
    _, _, spiral = dose_records(dcmread(io.BytesIO(data)))
    assert spiral["ParseWarnings"] == "1.13.7.1: NUM item CTDIvol has non-numeric value 'abc.def'; skipped"
    assert "CTDIvol" not in spiral and spiral["DLP"] == truth["events"][1]["dlp"]


def test_odd_vendor_items_cost_only_themselves():
    ds, truth = make_ct_dose_sr(odd_items=True, spiral_count=2, dual_source=True)
    records = dose_records(roundtrip(ds))
    report_record, scout, spiral, *_ = records
    assert len(records) == 1 + truth["number_of_events"]
    for record, expected in ((report_record, truth["warnings"]["report"]),
                             (spiral, truth["warnings"]["event"])):
        warnings = record["ParseWarnings"].split(" | ")
        assert len(warnings) == len(expected)
        for warning, problem in zip(warnings, expected, strict=True):
            assert re.match(r"^1(\.\d+)+: ", warning) and problem in warning
    assert report_record["ParseWarningCount"] == 4 and "ParseWarnings" not in scout
    assert "EndOfXRayIrradiation" not in report_record and report_record["DLPTotal"] == truth["dlp_total"]
    assert "ExposedRange" not in spiral  # an empty measured value is no value, never 0
    assert (spiral["TubeCurrentPerRotation"], spiral["TubeCurrentPerRotation_count"]) == (220, 5)
    assert spiral["DLP"] == truth["events"][1]["dlp"] and spiral["CTDIvol"] == truth["events"][1]["ctdivol"]


def test_a_report_without_readable_content_still_gives_its_report_record():
    ds = report([])
    ds.ContentSequence = Sequence([Dataset(), Dataset()])  # items without anything
    report_record, = dose_records(ds)
    assert report_record["EventCount"] == 0
    assert [w.split(":")[0] for w in report_record["ParseWarnings"].split(" | ")] == ["1.1", "1.2"]


def test_warnings_are_bounded():
    items = [_item_without_value_type() for _ in range(50)]
    (report_record,) = dose_records(report(items))
    warnings = report_record["ParseWarnings"].split(" | ")
    assert len(warnings) == 21 and warnings[-1] == "... and 30 more"
    assert report_record["ParseWarningCount"] == 50


def _item_without_value_type() -> Dataset:
    item = Dataset()
    item.ConceptNameCodeSequence = Sequence([code_ds(codes.DCM.KVP)])
    return item


@pytest.mark.parametrize("seed", range(6))
def test_valid_reports_never_raise(seed):
    ds, truth = make_ct_dose_sr(seed=seed, spiral_count=1 + seed % 2, quirks=seed % 3 == 0,
                                dual_source=seed % 2 == 1, long_comment=seed % 4 == 0,
                                charset=[None, "ISO_IR 100", "ISO_IR 192"][seed % 3])
    assert len(dose_records(roundtrip(ds))) == 1 + truth["number_of_events"]
