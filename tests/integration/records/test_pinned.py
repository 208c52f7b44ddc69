"""Records unchanged by the throughput work (issue 15): every record equals the pre-change reference.

The reference (``tests/support/tag_records_reference.py``) is the old code path kept frozen: the whole file
parsed by pydicom, every tag read through ``ds[tag]``, ReceptionDate from the metadata. The data
covers what a faster reader could get wrong: values over 256 characters, non-ASCII text in two
character sets, multi-values, AT, private and keyword-less tags, repeating overlay groups, nested
sequences, binary VRs, implicit VR, a file past the streamed-read limit, dose SRs and a text SR.
"""

from __future__ import annotations

import io
import json

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian

from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.replicate_tags import replicate_tags
from copydicom_provider.records.fetch import fetch_instance_records, instances_metadata
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dicom_generator import to_bytes as image_bytes
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, make_plain_sr, to_bytes
from copydicom_provider.testing.dose_sr_projection import make_fluoro_dose_sr
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.support.tag_records_reference import reference_records

LONG = "Lésion hépatique segmentaire, contrôle à six mois. " * 20  # ~1000 characters, Latin-1


def _odd_image(images) -> Dataset:
    """An image with every kind of element a lean reader might render differently."""
    ds = next(images).dataset
    ds.ImageComments = LONG
    ds.PatientComments = "x" * 300
    ds.FrameIncrementPointer = 0x00181063  # AT
    ds.add_new(0x00091010, "LO", "PRIVATE CREATOR X")
    ds.add_new(0x00091001, "LO", "private value")  # no keyword, no creator match
    ds.add_new(0x00091002, "US", [1, 2, 3])
    ds.add_new(0x00091003, "OB", b"\x01\x02")  # binary: left out
    ds.add_new(0x00181020, "UN", b"SW 1.0")  # UN of a known tag: pydicom reads it as LO
    ds.add_new(0x00191001, "UN", b"opaque")  # UN of an unknown tag: left out
    ds.add_new(0x60000010, "US", 8)  # overlay groups share keywords
    ds.add_new(0x60020010, "US", 9)
    ds.add_new(0x60000022, "LO", "overlay one")
    ds.add_new(0x60020022, "LO", "overlay two")
    ds.WindowCenter = ["40", "400"]
    ds.WindowWidth = [400, 2000]
    ds.ReferringPhysicianName = ""
    ds.OperatorsName = ["Doe^Jane", "Roe^Rick"]
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ref.ReferencedSOPInstanceUID = "1.2.3.4.5"
    inner = Dataset()
    inner.CodeValue, inner.CodingSchemeDesignator, inner.CodeMeaning = "121311", "DCM", "Localizer"
    ref.PurposeOfReferenceCodeSequence = Sequence([inner])
    ds.ReferencedImageSequence = Sequence([ref, Dataset()])
    ds.add_new(0x00181030, "LO", "")  # empty value
    return ds


def _utf8_image(images) -> bytes:
    ds = next(images).dataset
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "山田^太郎=やまだ^たろう"
    ds.StudyDescription = "Ünïcödé " + "長い説明" * 100
    return image_bytes(ds)


def _implicit_image(images) -> bytes:
    ds = next(images).dataset
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.InstitutionName = "Implicit Hospital"
    buf = io.BytesIO()
    ds.save_as(buf, implicit_vr=True, little_endian=True, enforce_file_format=True)
    return buf.getvalue()


def corpus() -> list[bytes]:
    images = generate_studies(patients=2, studies_per_patient=2, series_per_study=1, instances_per_series=3,
                              rows=32, columns=32, seed=15)
    files = [next(images).to_bytes() for _ in range(4)]  # plain CT and MR images
    files += [image_bytes(_odd_image(images)), _utf8_image(images), _implicit_image(images)]
    big = next(generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=1,
                                rows=1024, columns=1024, frames=3, seed=16))  # 6 MB: the streamed read
    files.append(big.to_bytes())
    files += [to_bytes(make_ct_dose_sr(seed=n, patient_id=f"PIN{n}", spiral_count=1 + n % 2,
                                       dual_source=n == 1, quirks=n == 2)[0]) for n in range(3)]
    files.append(to_bytes(make_fluoro_dose_sr(seed=4, events=6)[0]))
    files.append(to_bytes(make_plain_sr(seed=5, text="Findings: " + "unremarkable " * 80)))
    return files


@pytest.fixture
def stored(source) -> list[str]:
    hook = OrthancHook.from_url(source.url_with_credentials)
    return [hook.upload_instance(body)["ID"] for body in corpus()]


def test_the_corpus_holds_what_the_guard_needs():
    """The guard only guards what the data holds: long values, SRs, the streamed size."""
    files = corpus()
    assert max(len(f) for f in files) > 4 << 20
    long_values = dcmread(io.BytesIO(files[4]), force=True)
    assert len(long_values.ImageComments) > 256


def test_records_equal_the_pre_change_reference(source, stored):
    hook = OrthancHook.from_url(source.url_with_credentials)
    for instance_id in stored:
        expected_time, expected = reference_records(source.url, source.auth, instance_id, "source")
        got = fetch_instance_records(hook, instance_id, "source")
        assert got.time == expected_time, instance_id
        assert got.records == expected, instance_id
        assert [list(r) for r in got.records] == [list(r) for r in expected], "key order too"
    dose = [r for i in stored for r in reference_records(source.url, source.auth, i, "source")[1]
            if r["RecordType"] == "irradiation_event"]
    assert len(dose) > 10


def test_long_and_non_ascii_values_stay_whole(source, stored):
    hook = OrthancHook.from_url(source.url_with_credentials)
    odd = fetch_instance_records(hook, stored[4], "source").records[-1]
    assert odd["ImageComments"] == LONG.strip() or odd["ImageComments"] == LONG
    assert odd["PatientComments"] == "x" * 300
    utf8 = fetch_instance_records(hook, stored[5], "source").records[-1]
    assert utf8["PatientName"] == "山田^太郎=やまだ^たろう"
    assert len(utf8["StudyDescription"]) > 256


def test_the_lean_gets_keep_orthancs_errors_and_hide_the_password(source, stored):
    """Anything but a 200 is asked again the usual way: a 401 and a 404 are OrthancErrors, no secret shown."""
    from copydicom_provider.hooks.errors import OrthancError

    wrong = OrthancHook.from_url(source.url_with_credentials.replace(f":{source.password}@", ":wrong-Secret9@"))
    with pytest.raises(OrthancError) as refused:
        fetch_instance_records(wrong, stored[0], "source")
    assert refused.value.status == 401 and "wrong-Secret9" not in str(refused.value)
    hook = OrthancHook.from_url(source.url_with_credentials)
    with pytest.raises(OrthancError) as missing:
        fetch_instance_records(hook, "-".join(["0" * 8] * 5), "source")
    assert missing.value.status == 404


def test_bulk_metadata_gives_the_same_records_with_one_request_each(source, stored):
    """ReceptionDate from ``/tools/bulk-content`` (one request per chunk) is the per-instance metadata's."""
    hook = OrthancHook.from_url(source.url_with_credentials)
    gone = "-".join(["0" * 8] * 5)
    known = instances_metadata(hook, [*stored, gone])
    assert set(known) == set(stored), "an instance Orthanc does not list is left to its own request"
    for instance_id in stored:
        expected_time, expected = reference_records(source.url, source.auth, instance_id, "source")
        got = fetch_instance_records(hook, instance_id, "source", metadata=known[instance_id])
        assert (got.time, got.records) == (expected_time, expected), instance_id


@pytest.mark.parametrize("processes", ["0", "2"], ids=["threads", "processes"])
def test_the_tags_job_indexes_exactly_the_reference_records(source, stored, monkeypatch, processes):
    """End to end through the Splunk stand-in: every indexed event is its reference record, stamped alike.

    Built by threads, and by forked worker processes (``COPYDICOM_RECORD_PROCESSES``): the same records.
    """
    monkeypatch.setenv("COPYDICOM_RECORD_PROCESSES", processes)
    with SplunkTestServer() as splunk:
        summary = replicate_tags(source.url_with_credentials, splunk.url(index="dicom"))
        indexed = {e.indexed["copydicom_key"]: (e.time, json.loads(e.raw)) for e in splunk.events}
    assert summary.sent == len(stored) and summary.failed == 0
    expected = {}
    for instance_id in stored:
        stamp, records = reference_records(source.url, source.auth, instance_id, "source")
        expected.update({r["RecordKey"]: (stamp, json.loads(json.dumps(r))) for r in records})
    assert indexed.keys() == expected.keys()
    for key, (stamp, record) in expected.items():
        assert indexed[key][0] == stamp and indexed[key][1] == record, key
        assert list(indexed[key][1]) == list(record), key
