"""The red team's files through real Orthanc.

The worker's own path: a source file, de-identified, uploaded, stored under the ID the planner expects.
"""

from __future__ import annotations

from copydicom_provider.deid import Identity
from tests.support.redteam import (
    PROFILE,
    ct_image,
    read,
    to_bytes,
    with_element_bytes,
)

# --- through real Orthanc: the worker's own path (source file, de-identified, uploaded, planned ID) ----------


def _through_orthanc(source, destination, data: bytes) -> bytes:
    """Store ``data`` on the source, send it as conditional replicate's worker does, return the research copy.

    ``send_instance`` raises when the copy lands under another ID than the planner computed from
    Orthanc's simplified tags (what a rerun looks for).
    """
    import requests

    from copydicom_provider.copy.send import send_instance
    from copydicom_provider.hooks.orthanc import OrthancHook
    from tests.support.fixtures_orthanc import instance_bytes

    reply = requests.post(f"{source.url}/instances", data=data, auth=source.auth, timeout=60)
    reply.raise_for_status()
    instance_id = reply.json()["ID"]
    source_hook, research_hook = OrthancHook.from_url(source.url_with_credentials), OrthancHook.from_url(
        destination.url_with_credentials)
    tags = source_hook.simplified_tags(instance_id)
    assert PROFILE.withheld_reason(tags) is None
    target = PROFILE.target_id(Identity.from_tags(tags))
    send_instance(source_hook, research_hook, instance_id, anonymize=PROFILE, expected_id=target)
    return instance_bytes(destination, target)


def test_the_preamble_does_not_reach_the_research_store(source, destination) -> None:
    ds = ct_image(key="redteam-orthanc-preamble")
    ds.preamble = b"KOWALCZYK^BRUNHILDE MRN-77123".ljust(128, b"\0")
    copy = _through_orthanc(source, destination, to_bytes(ds))
    assert b"MRN-77123" not in copy[:128]


def test_a_backslash_patient_id_is_copied_under_the_planned_id(source, destination) -> None:
    original = with_element_bytes(ct_image(key="redteam-orthanc-backslash"), "PatientID", "LO", b"MRN\\77123 ", "X")
    copy = read(_through_orthanc(source, destination, original))
    assert copy.PatientID.startswith("ANON-")
