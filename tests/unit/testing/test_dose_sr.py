"""The dose SR generator: valid files (dsrdump), deterministic, and ground truth the flattener reads back."""

from __future__ import annotations

import io
import itertools
import shutil
import subprocess

import pytest
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian

from copydicom_provider.records.dose import dose_records
from copydicom_provider.testing.dose_sr import (
    BASIC_TEXT_SR,
    ENHANCED_SR,
    XRAY_RADIATION_DOSE_SR,
    cumulative_ct_reports,
    in_another_study,
    make_ct_dose_sr,
    make_plain_sr,
    to_bytes,
)
from copydicom_provider.testing.dose_sr_projection import make_fluoro_dose_sr

VARIANTS = {
    "default": {},
    "two-spirals": {"spiral_count": 2, "seed": 3},
    "quirks": {"quirks": True, "spiral_count": 2},
    "dual-source": {"dual_source": True, "spiral_count": 2, "seed": 7},
    "long-comment": {"long_comment": True},
    "latin1": {"charset": "ISO_IR 100"},
    "utf8": {"charset": "ISO_IR 192", "dual_source": True},
    "enhanced-sr": {"enhanced_sr": True},
}


def _read(ds):
    return dcmread(io.BytesIO(to_bytes(ds)))


@pytest.mark.parametrize("options", VARIANTS.values(), ids=VARIANTS.keys())
def test_ground_truth_equals_what_the_flattener_reads(options):
    ds, truth = make_ct_dose_sr(**options)
    records = dose_records(_read(ds))
    report, events = records[0], records[1:]

    assert report["RecordType"] == "dose_report"
    assert report["SOPInstanceUID"] == truth["sop_instance_uid"]
    assert report["StudyInstanceUID"] == truth["study_instance_uid"]
    assert report["AccessionNumber"] == truth["accession_number"]
    assert report["StationName"] == truth["station_name"]
    assert report["SeriesDescription"] == truth["series_description"]
    assert report["DLPTotal"] == truth["dlp_total"]
    assert report["DLPTotal_unit"] == truth["dlp_unit"]
    assert report["NumberOfEvents"] == truth["number_of_events"] == len(events)
    assert report.get("Comment") == truth["comment"]
    for record, expected in zip(events, truth["events"], strict=True):
        assert record["RecordType"] == "irradiation_event"
        assert record["IrradiationEventUID"] == expected["irradiation_event_uid"]
        assert record["AcquisitionProtocol"] == expected["acquisition_protocol"]
        assert record["AcquisitionType"] == expected["acquisition_type"]
        assert record["AcquisitionType_code"] == expected["acquisition_type_code"]
        assert record["TargetRegion"] == expected["target_region"]
        assert record.get("CTDIvol") == expected["ctdivol"]
        assert record.get("DLP") == expected["dlp"]
        assert record.get("PhantomType") == expected["phantom_type"]
        assert record.get("PitchFactor") == expected["pitch_factor"]
        assert record["KVP"] == expected["kvp"]
        assert record["TubeCurrent"] == expected["tube_current"]


def test_dlp_total_is_the_sum_of_event_dlps():
    _, truth = make_ct_dose_sr(spiral_count=2, seed=11)
    total = sum(e["dlp"] for e in truth["events"])
    assert truth["dlp_total"] == pytest.approx(total, abs=1e-9)
    assert truth["number_of_events"] == 3
    assert [e["acquisition_type_code"] for e in truth["events"]] == [
        "DCM:113806", "SCT:116152004", "SCT:116152004"]


def test_quirks_write_vendor_deviations():
    ds, truth = make_ct_dose_sr(quirks=True)
    assert ds.ConceptNameCodeSequence[0].CodeMeaning == "X-ray Radiation Dose Report"
    assert ds.ConceptNameCodeSequence[0].CodeValue == "113701"
    acquisitions = [i for i in ds.ContentSequence
                    if i.ConceptNameCodeSequence[0].CodeValue == "113819"]
    scout, spiral = acquisitions
    assert not [i for i in scout.ContentSequence
                if i.ConceptNameCodeSequence[0].CodeValue == "113829"]  # no CT Dose
    ct_dose = next(i for i in spiral.ContentSequence
                   if i.ConceptNameCodeSequence[0].CodeValue == "113829")
    dlp = next(i for i in ct_dose.ContentSequence
               if i.ConceptNameCodeSequence[0].CodeValue == "113838")
    assert dlp.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue == "mGycm"
    assert truth["events"][0]["ctdivol"] is None and truth["events"][0]["dlp"] is None
    assert truth["dlp_total"] == truth["events"][1]["dlp"]


def test_file_meta_and_identity():
    ds, truth = make_ct_dose_sr(series_description="Dose Record", patient_id="P9")
    data = to_bytes(ds)
    assert data[128:132] == b"DICM"
    back = dcmread(io.BytesIO(data))
    assert back.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert back.file_meta.MediaStorageSOPInstanceUID == truth["sop_instance_uid"]
    assert back.SOPClassUID == XRAY_RADIATION_DOSE_SR
    assert back.Modality == "SR"
    assert back.SeriesDescription == "Dose Record"
    assert back.PatientID == "P9"
    assert make_ct_dose_sr(enhanced_sr=True)[0].SOPClassUID == ENHANCED_SR


def test_deterministic_for_a_seed_and_different_across_seeds():
    assert to_bytes(make_ct_dose_sr(seed=5)[0]) == to_bytes(make_ct_dose_sr(seed=5)[0])
    a, b = make_ct_dose_sr(seed=5)[1], make_ct_dose_sr(seed=6)[1]
    assert a["sop_instance_uid"] != b["sop_instance_uid"]
    assert a["events"][1]["ctdivol"] != b["events"][1]["ctdivol"]
    given = make_ct_dose_sr(study_uid="1.2.3.4")[1]
    assert given["study_instance_uid"] == "1.2.3.4"


@pytest.mark.parametrize(("charset", "encoded"), [
    ("ISO_IR 100", "Müller".encode("latin-1")),
    ("ISO_IR 192", "Müller".encode()),
])
def test_non_ascii_text_is_encoded_per_charset(charset, encoded):
    ds, truth = make_ct_dose_sr(charset=charset)
    data = to_bytes(ds)
    assert encoded in data
    back = dcmread(io.BytesIO(data))
    assert back.SpecificCharacterSet == charset
    assert str(back.PatientName) == truth["patient_name"] == "Müller^Jürgen"
    assert any(ord(c) > 127 for c in truth["events"][1]["acquisition_protocol"])


def test_long_comment_is_over_256_characters():
    _, truth = make_ct_dose_sr(long_comment=True)
    assert len(truth["comment"]) > 256


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="spiral_count"):
        make_ct_dose_sr(spiral_count=51)
    with pytest.raises(ValueError, match="missing_source_value needs dual_source"):
        make_ct_dose_sr(missing_source_value=True)
    with pytest.raises(ValueError, match=r"odd_items must be among .*not \['tabs'\]"):
        make_ct_dose_sr(odd_items=["text-in-num", "tabs"])
    with pytest.raises(ValueError, match="report_number"):
        make_ct_dose_sr(report_number=0)
    with pytest.raises(ValueError, match="events"):
        make_fluoro_dose_sr(events=0)
    with pytest.raises(ValueError, match="charset"):
        make_ct_dose_sr(charset="GB18030")


def test_cumulative_reports_repeat_earlier_events_with_the_same_values():
    versions = cumulative_ct_reports(3, seed=21)
    truths = [truth for _, truth in versions]
    assert [t["number_of_events"] for t in truths] == [2, 3, 4]
    assert len({t["sop_instance_uid"] for t in truths}) == 3
    assert len({t["study_instance_uid"] for t in truths}) == 1
    for earlier, later in itertools.pairwise(truths):
        assert later["events"][: len(earlier["events"])] == earlier["events"]
        assert later["dlp_total"] > earlier["dlp_total"]


def test_the_same_sr_in_another_study_keeps_its_sop_instance_and_events():
    ds, truth = make_ct_dose_sr(seed=22)
    other = in_another_study(ds)
    assert other.SOPInstanceUID == ds.SOPInstanceUID and other.StudyInstanceUID != ds.StudyInstanceUID
    assert other.ContentSequence == ds.ContentSequence
    events = [r["IrradiationEventUID"] for r in dose_records(_read(other))[1:]]
    assert events == [e["irradiation_event_uid"] for e in truth["events"]]


def test_odd_items_are_written_as_vendors_write_them():
    data = to_bytes(make_ct_dose_sr(odd_items=True)[0])
    assert b"10.50/ 15.00" in data and b"2024-03-14 09:36" in data


def test_fluoro_report_truth_equals_what_the_flattener_reads():
    ds, truth = make_fluoro_dose_sr(events=12, seed=3, long_series_event=2, long_series_pulses=50)
    report, *events = dose_records(_read(ds))
    assert report["EventCount"] == 12 and report["DoseAreaProductTotal"] == pytest.approx(truth["dap_total"])
    assert report["DoseRPTotal"] == pytest.approx(truth["dose_rp_total_mgy"])
    assert report["TotalFluoroTime"] == pytest.approx(truth["fluoro_time_s"])
    for record, expected in zip(events, truth["events"], strict=True):
        assert record["IrradiationEventUID"] == expected["irradiation_event_uid"]
        assert record["DateTimeStarted"] == expected["started"]
        assert (record["DoseAreaProduct"], record["DoseRP"]) == (expected["dap"], expected["dose_rp_mgy"])
        assert (record["ExposureTime"], record["ExposureTime_unit"]) == (expected["exposure_time_s"], "s")
        assert (record["Exposure"], record["Exposure_unit"]) == (expected["exposure_mas"], "mA.s")
        assert record.get("PulseRate") == expected["pulse_rate"]
        kvp = expected["kvp"]
        if kvp["count"] > 1:
            assert (record["KVP"], record["KVP_min"], record["KVP_max"], record["KVP_count"]) == (
                kvp["mean"], kvp["min"], kvp["max"], kvp["count"])
        else:
            assert record["KVP"] == kvp["mean"] and "KVP_count" not in record
    assert events[1]["KVP_count"] == 50


def test_plain_sr_is_basic_text_without_dose_records():
    ds = make_plain_sr(text="Nothing to see")
    assert ds.SOPClassUID == BASIC_TEXT_SR
    assert dose_records(_read(ds)) == []


# --- dcmtk's dsrdump -------------------------------------------------------------------------

DSRDUMP = shutil.which("dsrdump")
needs_dsrdump = pytest.mark.skipif(
    DSRDUMP is None, reason="dsrdump (Debian package dcmtk) is not installed")
# dcmtk's VR checker only knows single-byte charsets; it says so for UTF-8 and checks the rest.
_KNOWN_NOTICE = "W: The VR checker does not support this Specific Character Set: ISO_IR 192"


def _dsrdump(tmp_path, data: bytes) -> tuple[int, list[str], str]:
    path = tmp_path / "report.dcm"
    path.write_bytes(data)
    run = subprocess.run([DSRDUMP, "-ll", "warn", "+Pl", str(path)], capture_output=True,
                         text=True, timeout=30, errors="replace")
    problems = [line for line in run.stderr.splitlines()
                if line.strip() and line.strip() != _KNOWN_NOTICE]
    return run.returncode, problems, run.stdout


@needs_dsrdump
@pytest.mark.parametrize("options", [*VARIANTS.values(), "plain"], ids=[*VARIANTS.keys(), "plain"])
def test_dsrdump_accepts_generated_files(tmp_path, options):
    ds = make_plain_sr() if options == "plain" else make_ct_dose_sr(**options)[0]
    rc, problems, out = _dsrdump(tmp_path, to_bytes(ds))
    assert rc == 0 and problems == [], problems
    if options != "plain":
        assert "X-Ray Radiation Dose Report" in out or "X-ray Radiation Dose Report" in out
        assert "Mean CTDIvol" in out or options.get("quirks")


@needs_dsrdump
def test_dsrdump_accepts_a_fluoroscopy_report(tmp_path):
    """One value per NUM: dcmtk reads a multi-valued NumericValue (per-pulse values) as invalid."""
    rc, problems, out = _dsrdump(tmp_path, to_bytes(make_fluoro_dose_sr(events=6, pulses=(1, 1))[0]))
    assert rc == 0 and problems == [], problems
    assert "Irradiation Event X-Ray Data" in out


@needs_dsrdump
def test_dsrdump_check_rejects_a_broken_tree(tmp_path):
    """The check above has teeth: an item without its value makes dsrdump complain."""
    ds, _ = make_ct_dose_sr()
    accumulated = next(i for i in ds.ContentSequence
                       if i.ConceptNameCodeSequence[0].CodeValue == "113811")
    del accumulated.ContentSequence[0].MeasuredValueSequence
    rc, problems, _ = _dsrdump(tmp_path, to_bytes(ds))
    assert rc != 0 or problems
