"""Each auditor of the corpus can fail: fed an original (not de-identified) or a broken copy, it reports it.

Why: an auditor that finds nothing on the corpus proves nothing unless it is shown to find what is
there. No servers: the auditors read files, as they read the research Orthanc's copies.
"""

from __future__ import annotations

import copy as copying
import io

import pydicom
import pytest
from pydicom.sequence import Sequence

from tests.support import iod_validator
from tests.support.deid_corpus import CASES_BY_NAME, SENT
from tests.support.deid_corpus_base import PACS_HOST
from tests.support.outside_audit import second_opinion
from tests.support.phi_audit import audit, dates_in, fold, original_identifiers

SENT_CASES = [case for case in CASES_BY_NAME.values() if case.expected == SENT]


def as_stored(dataset: pydicom.Dataset) -> tuple[bytes, pydicom.Dataset]:
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue(), pydicom.dcmread(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize("case", SENT_CASES, ids=lambda case: case.name)
def test_the_walk_reports_every_planted_place_of_an_original(case):
    _, original = as_stored(case.dataset)
    findings = audit(original, original_identifiers(original))
    assert findings and any("PatientName" in finding for finding in findings)
    for place in case.planted:
        assert any(finding.startswith(place) for finding in findings), f"nothing reported at {place}"


@pytest.mark.parametrize("case", SENT_CASES, ids=lambda case: case.name)
def test_dicognito_judges_the_original_identifying(case):
    _, original = as_stored(case.dataset)
    findings = second_opinion(original, original)
    assert any(finding.startswith("PatientName") or finding.startswith("SOPInstanceUID") for finding in findings)


def test_original_uids_and_the_host_in_a_retrieve_url_are_hunted():
    _, original = as_stored(CASES_BY_NAME["kos-retrieve-url"].dataset)
    identifiers = original_identifiers(original)
    assert fold(PACS_HOST) in identifiers and original.StudyInstanceUID in identifiers
    assert "1.2.840.10008.5.1.4.1.1.2" not in identifiers  # a SOP class is the registry's, not the patient's
    url = original.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].RetrieveURL
    findings = audit(original, identifiers)
    assert sum(f.startswith("CurrentRequestedProcedureEvidenceSequence") and url in f for f in findings) >= 2
    assert any("RetrieveURL" in f for f in second_opinion(original, original))


def test_dates_in_free_text_two_letter_names_and_accent_free_spellings_are_found():
    assert dates_in("SCAN OF 12/03/2024") == {"20240312", "20241203"}
    assert dates_in("2024-03-12, 12 MARCH 2024 AND MARCH 12, 2024") == {"20240312"}
    assert dates_in("1.2.840.10008 SERIES 7") == set()
    _, original = as_stored(CASES_BY_NAME["ct-two-letter-names"].dataset)
    identifiers = original_identifiers(original)
    copy = copying.deepcopy(original)
    copy.ImageComments = "seen by Ng"
    copy.ManufacturerModelName = "Ngantic 64"  # NG inside a word is no name
    found = audit(copy, identifiers)
    assert any(f.startswith("ImageComments") for f in found)
    assert not any(f.startswith("ManufacturerModelName") for f in found)
    _, accented = as_stored(CASES_BY_NAME["mr-overlay-iso-ir-100"].dataset)
    assert "ODEGARD" in original_identifiers(accented)


def test_dciodvfy_reports_what_a_copy_breaks_and_nothing_the_original_had():
    data, gsps = as_stored(CASES_BY_NAME["gsps"].dataset)
    assert iod_validator.new_errors(data, data) == []
    broken = copying.deepcopy(gsps)
    del broken.ReferencedSeriesSequence[0].ReferencedImageSequence
    broken.GraphicAnnotationSequence = Sequence([])
    errors = iod_validator.new_errors(data, as_stored(broken)[0])
    assert any("ReferencedImageSequence" in e for e in errors) and any("GraphicAnnotationSequence" in e for e in errors)


def test_dciodvfy_errors_that_only_differ_by_value_are_the_same_error():
    data, odd = as_stored(CASES_BY_NAME["ct-odd-dates"].dataset)
    assert any("Acquisition Date" in e for e in iod_validator.errors(data))  # the original's own error
    changed = copying.deepcopy(odd)
    changed.AcquisitionDate = "2019-11-02"
    assert iod_validator.new_errors(data, as_stored(changed)[0]) == []


def test_an_unshifted_date_is_found_and_a_shift_onto_another_original_date_is_not():
    _, original = as_stored(CASES_BY_NAME["ct"].dataset)
    identifiers = original_identifiers(original)
    kept = copying.deepcopy(original)
    kept.DateOfLastCalibration = "20240101"  # as it was
    kept.StudyDate = original.DateOfLastCalibration  # 20240312 shifted by 71 days: another original date
    for findings in (audit(kept, identifiers), second_opinion(original, kept)):
        assert any(f.startswith("DateOfLastCalibration") for f in findings)
        assert not any(f.startswith("StudyDate") for f in findings)
