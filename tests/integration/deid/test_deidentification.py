"""De-identification end to end: planted PHI goes through real Orthanc servers, the audit reads the copies back.

The copies are read from the destination Orthanc (what a research user would get), never from
the worker's memory; the audit (tests/support/phi_audit.py) does not know how the profile works.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta

import pydicom
import pytest
import requests

from copydicom_provider.deid import AnonymizationProfile, Identity
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.candidates import Candidates
from copydicom_provider.jobs.replicate import copy_candidates
from copydicom_provider.testing.dose_sr import to_bytes
from tests.support.fixtures_orthanc import instance_bytes, instance_ids
from tests.support.phi_audit import audit, original_identifiers
from tests.support.phi_cases import CT_IMAGE, make_planted_dose_sr, make_screenshot

KEY = "audit-key-5b1e"


def upload(server, data: bytes) -> str:
    reply = requests.post(f"{server.url}/instances", data=data, auth=server.auth, timeout=60)
    reply.raise_for_status()
    return reply.json()["ID"]


def read_back(server, instance_id: str) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(instance_bytes(server, instance_id)))


def copy(source, destination, ids: list[str], profile: AnonymizationProfile | None):
    return copy_candidates(OrthancHook.from_url(source.url_with_credentials),
                           OrthancHook.from_url(destination.url_with_credentials),
                           Candidates(instances=ids), anonymize=profile)


def target(profile: AnonymizationProfile, dataset: pydicom.Dataset) -> str:
    return profile.target_id(Identity(dataset.PatientID, dataset.StudyInstanceUID, dataset.SeriesInstanceUID,
                                      dataset.SOPInstanceUID, str(dataset.get("IssuerOfPatientID", ""))))


def patient_key(dataset: pydicom.Dataset) -> str:
    return Identity(
        dataset.PatientID, dataset.StudyInstanceUID, "", "", str(dataset.get("IssuerOfPatientID", ""))
    ).patient_key


def numbers(dataset: pydicom.Dataset) -> list[tuple[str, str]]:
    """(concept code, numeric value) of every NUM item, in tree order: the dose data."""
    found = []
    for item in dataset.get("ContentSequence", []):
        if item.ValueType == "NUM" and item.get("MeasuredValueSequence"):
            found.append((item.ConceptNameCodeSequence[0].CodeValue, str(item.MeasuredValueSequence[0].NumericValue)))
        found += numbers(item)
    return found


@pytest.mark.parametrize("charset", [None, "ISO_IR 100", "ISO_IR 192"])
def test_phi_audit_passes_over_every_planted_case(source, destination, charset):
    case = make_planted_dose_sr(charset=charset)
    instance_id = upload(source, case.to_bytes())
    original = read_back(source, instance_id)
    identifiers = original_identifiers(original)
    assert case.patient_id.upper() in identifiers and "19610723" in identifiers  # the audit knows what to hunt
    profile = AnonymizationProfile(key=KEY)

    summary = copy(source, destination, [instance_id], profile)

    assert summary.copied == 1 and summary.failed == 0
    (copy_id,) = instance_ids(destination)
    assert copy_id == target(profile, original)
    deidentified = read_back(destination, copy_id)
    assert audit(deidentified, identifiers) == []
    assert deidentified.PatientID == profile.pseudonym(patient_key(original))
    assert numbers(deidentified) == numbers(original)  # CTDIvol, DLP, kVp ... survive at every depth
    shift = timedelta(days=profile.date_shift_days(patient_key(original)))
    assert deidentified.StudyDate == (case.study_date - shift).strftime("%Y%m%d")
    assert deidentified.PatientIdentityRemoved == "YES"
    scope = next(item for item in deidentified.ContentSequence if item.get("ContentSequence")
                 and item.ContentSequence[0].get("ValueType") == "UIDREF")
    assert scope.ContentSequence[0].UID == deidentified.StudyInstanceUID  # references follow the keyed UIDs


def test_the_audit_fails_when_the_profile_is_off_and_on_orthancs_own_anonymizer(source, destination):
    case = make_planted_dose_sr()
    instance_id = upload(source, case.to_bytes())
    identifiers = original_identifiers(read_back(source, instance_id))

    copy(source, destination, [instance_id], None)  # profile switched off: the original lands
    findings = audit(read_back(destination, instance_id), identifiers)
    assert any("KOWALCZYK" in f for f in findings) and any("private attribute" in f for f in findings)

    # What main did before: Orthanc's anonymizer keeping the SR content.
    body = {"Keep": ["ContentSequence"], "Force": True, "KeepPrivateTags": False}
    anonymized = requests.post(f"{source.url}/instances/{instance_id}/anonymize", data=json.dumps(body),
                               auth=source.auth, timeout=60)
    orthanc_copy = pydicom.dcmread(io.BytesIO(anonymized.content))
    findings = audit(orthanc_copy, identifiers)
    assert any("DateTime" in f and "20240314" in f for f in findings)  # exam dates inside the content
    assert any("MRN-77123" in f for f in findings)  # the ID in a TEXT item deep in the tree


def test_intervals_within_a_patient_survive_and_patients_get_their_own_shift(source, destination):
    profile = AnonymizationProfile(key=KEY)
    first = make_planted_dose_sr(study_date=date(2024, 1, 5), accession_number="ACC-1", seed=1)
    second = make_planted_dose_sr(study_date=date(2024, 2, 9), accession_number="ACC-2", seed=2)
    other = make_planted_dose_sr(patient_id="MRN-50001", study_date=date(2024, 1, 5), accession_number="ACC-3", seed=3)
    ids = [upload(source, case.to_bytes()) for case in (first, second, other)]
    copy(source, destination, ids, profile)
    dates = {}
    for case in (first, second, other):
        copied = read_back(destination, target(profile, case.dataset))
        dates[case.dataset.AccessionNumber] = datetime.strptime(copied.StudyDate, "%Y%m%d").date()
    assert dates["ACC-2"] - dates["ACC-1"] == date(2024, 2, 9) - date(2024, 1, 5)
    assert profile.date_shift_days("MRN-77123") != profile.date_shift_days("MRN-50001")
    assert dates["ACC-3"] != dates["ACC-1"]


def test_retain_device_identity_keeps_station_and_serial_only(source, destination):
    case = make_planted_dose_sr()
    instance_id = upload(source, case.to_bytes())
    original = read_back(source, instance_id)
    profile = AnonymizationProfile(key=KEY, retain_device_identity=True)
    copy(source, destination, [instance_id], profile)
    copied = read_back(destination, target(profile, original))
    assert copied.StationName == "CTROOM-WEST-7" and copied.DeviceSerialNumber == "SN-88341"
    assert audit(copied, original_identifiers(original, retain_device_identity=True)) == []
    # ... and the same copy fails an audit that expects the device identity removed
    assert any("CTROOM-WEST-7" in f for f in audit(copied, original_identifiers(original)))


def test_a_rerun_copies_nothing_twice(source, destination):
    instance_id = upload(source, make_planted_dose_sr().to_bytes())
    profile = AnonymizationProfile(key=KEY)
    first = copy(source, destination, [instance_id], profile)
    landed = instance_bytes(destination, next(iter(instance_ids(destination))))
    again = copy(source, destination, [instance_id], profile)
    assert (first.copied, again.copied, again.already_present) == (1, 0, 1)
    assert instance_bytes(destination, next(iter(instance_ids(destination)))) == landed


def test_possible_burned_in_text_is_withheld_unless_allowed(source, destination):
    withheld = {
        upload(source, to_bytes(make_screenshot())): "Secondary Capture Image without BurnedInAnnotation=NO",
        upload(source, to_bytes(make_screenshot(burned_in="YES", seed=1))): "BurnedInAnnotation=YES",
        upload(source, to_bytes(make_screenshot(burned_in="YES", sop_class=CT_IMAGE))): "BurnedInAnnotation=YES",
    }
    allowed = [
        upload(source, to_bytes(make_screenshot(burned_in="NO", seed=2))),
        upload(source, to_bytes(make_screenshot(sop_class=CT_IMAGE, seed=3))),
    ]
    summary = copy(source, destination, [*withheld, *allowed], AnonymizationProfile(key=KEY))
    assert (summary.copied, summary.withheld, summary.failed) == (2, 3, 0)
    assert summary.withheld_reasons == {
        "BurnedInAnnotation=YES": 2,
        "Secondary Capture Image without BurnedInAnnotation=NO": 1,
    }
    assert "3 withheld from de-identification" in summary.line()
    assert len(instance_ids(destination)) == 2

    everything = copy(source, destination, [*withheld, *allowed], AnonymizationProfile(key=KEY, allow_burned_in=True))
    assert (everything.copied, everything.already_present, everything.withheld) == (3, 2, 0)



def test_names_the_table_does_not_list_and_identifiers_in_kept_text_are_removed():
    case = make_planted_dose_sr()
    dataset = case.dataset
    dataset.ContentSequence[4].TextValue = "ACME Medical for Kowalczyk"  # Manufacturer item, normally kept
    dataset.add_new(0x00321032, "PN", "Fairweather^Ignatius")  # Requesting Physician (the table lists it)
    dataset.add_new(0x00142006, "PN", "Quillfeather^Odette")  # Evaluator Name: a name the table does not list
    out = pydicom.dcmread(io.BytesIO(AnonymizationProfile(key=KEY).deidentify(case.to_bytes())))
    text = str(out)
    for name in ("Kowalczyk", "Fairweather", "Quillfeather"):
        assert name not in text
    assert out.ContentSequence[5].TextValue == "Scanomatic 64"  # model name: kept
