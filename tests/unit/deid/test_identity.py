"""Who an instance belongs to: its identifiers from Orthanc's tags, and the key that names its patient."""

from __future__ import annotations

import pytest

from copydicom_provider.deid.identity import Identity

UIDS = {"StudyInstanceUID": "1.2.3", "SeriesInstanceUID": "1.2.3.4", "SOPInstanceUID": "1.2.3.4.5"}


def test_from_tags_reads_the_identifiers_and_the_issuer():
    identity = Identity.from_tags({**UIDS, "PatientID": "MRN-1", "IssuerOfPatientID": "HOSP-A", "Other": "x"})
    assert identity == Identity("MRN-1", "1.2.3", "1.2.3.4", "1.2.3.4.5", "HOSP-A")


@pytest.mark.parametrize("missing", [{}, {"PatientID": None, "IssuerOfPatientID": None}])
def test_from_tags_without_patient_id_or_issuer_gives_empty_strings(missing):
    identity = Identity.from_tags({**UIDS, **missing})
    assert (identity.patient_id, identity.issuer) == ("", "")


@pytest.mark.parametrize("uid", sorted(UIDS))
def test_from_tags_requires_each_uid(uid):
    tags = {key: value for key, value in UIDS.items() if key != uid}
    with pytest.raises(KeyError, match=uid):
        Identity.from_tags(tags)


@pytest.mark.parametrize(
    ("patient_id", "issuer", "key"),
    [
        ("MRN-1", "", "MRN-1"),  # no issuer: the key it always had
        ("MRN-1", "  ", "MRN-1"),
        ("MRN-1", "HOSP-A", "HOSP-A\x1fMRN-1"),
        ("MRN-1", " HOSP-A ", "HOSP-A\x1fMRN-1"),
        ("", "HOSP-A", "study:1.2.3"),  # an empty ID is scoped to its study, whatever the issuer
        ("   ", "", "study:1.2.3"),
    ],
)
def test_patient_key(patient_id, issuer, key):
    assert Identity(patient_id, "1.2.3", "1.2.3.4", "1.2.3.4.5", issuer).patient_key == key


def test_two_issuers_patients_with_one_id_are_two_patients():
    first, second = (Identity("MRN-1", "1.2.3", "1.2.3.4", "1.2.3.4.5", issuer) for issuer in ("A", "B"))
    assert first.patient_key != second.patient_key


def test_identity_is_frozen():
    identity = Identity("MRN-1", "1.2.3", "1.2.3.4", "1.2.3.4.5")
    with pytest.raises(AttributeError):
        identity.patient_id = "other"  # type: ignore[misc]
