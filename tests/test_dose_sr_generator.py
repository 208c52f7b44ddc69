"""The dose SR generator: valid files (dsrdump), deterministic, and ground truth the flattener reads back."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian

from copydicom_provider.core.flatten import dose_records
from copydicom_provider.testing.dose_sr import (
    BASIC_TEXT_SR,
    ENHANCED_SR,
    XRAY_RADIATION_DOSE_SR,
    make_ct_dose_sr,
    make_plain_sr,
    to_bytes,
)

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


@pytest.mark.parametrize("charset, encoded", [
    ("ISO_IR 100", "Müller".encode("latin-1")),
    ("ISO_IR 192", "Müller".encode("utf-8")),
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
        make_ct_dose_sr(spiral_count=3)
    with pytest.raises(ValueError, match="charset"):
        make_ct_dose_sr(charset="GB18030")


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
def test_dsrdump_check_rejects_a_broken_tree(tmp_path):
    """The check above has teeth: an item without its value makes dsrdump complain."""
    ds, _ = make_ct_dose_sr()
    accumulated = next(i for i in ds.ContentSequence
                       if i.ConceptNameCodeSequence[0].CodeValue == "113811")
    del accumulated.ContentSequence[0].MeasuredValueSequence
    rc, problems, _ = _dsrdump(tmp_path, to_bytes(ds))
    assert rc != 0 or problems
