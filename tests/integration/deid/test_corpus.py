"""Issue 22 item 7, the audit as tests: the corpus through the real conditional replicate, three auditors on each copy.

One store of the corpus (tests/support/deid_corpus.py) on a real source Orthanc, its tags indexed in the
Splunk test server, one ``conditional_replicate(..., anonymize=...)`` run into a research Orthanc;
then every copy is read back from the research Orthanc and judged by the project's own walk
(tests/support/phi_audit.py), dicognito as an outside second opinion (tests/support/outside_audit.py) and dciodvfy
(tests/support/iod_validator.py, no error beyond the original's). Withheld kinds must not arrive and must
be counted with a reason of the right kind. Each copy is found by its InstanceNumber, which Annex E
keeps. The suite fails on any residual, any new validity error, any withheld kind that arrives.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pydicom
import pytest
import requests

from copydicom_provider.deid import AnonymizationProfile
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.conditional_replicate import conditional_replicate
from copydicom_provider.jobs.replicate_tags import replicate_tags
from copydicom_provider.jobs.summary import ReplicationSummary
from copydicom_provider.testing.orthanc_server import OrthancServer
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.support import iod_validator
from tests.support.deid_corpus import CASES_BY_NAME, DISTINCT_IDENTITIES, SENT, WITHHELD, CorpusCase
from tests.support.fixtures_orthanc import instance_bytes, instance_ids
from tests.support.outside_audit import second_opinion
from tests.support.phi_audit import audit, original_identifiers

PROFILE = AnonymizationProfile(key="corpus-audit-key-3c9d")
CASES = list(CASES_BY_NAME.values())
#: How a withheld reason must read for each kind (the summary's free-text reasons).
REASON_KINDS = {"burned-in": r"(?i)burn", "encapsulated document": r"(?i)encapsulated|document",
                "unknown class": r"(?i)unknown|class"}
@dataclass
class CorpusRun:
    """What the one replicate run left: the originals as stored, the copies as the research Orthanc serves them."""

    source: OrthancServer
    research: OrthancServer
    summary: ReplicationSummary
    originals: dict[str, bytes]  # case name -> the file as the source Orthanc serves it
    source_ids: dict[str, str]  # case name -> its Orthanc ID on the source
    copies: dict[int, bytes]  # InstanceNumber -> the copy's file

    def copy_of(self, case: CorpusCase) -> bytes | None:
        return self.copies.get(case.marker)


def _start(tmp_path_factory, name: str) -> OrthancServer:
    return OrthancServer(tmp_path_factory.mktemp(name), name=name).start()


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Iterator[CorpusRun]:
    assert iod_validator.available(), "dciodvfy is missing: `make deps` installs dicom3tools"
    source, research = _start(tmp_path_factory, "corpus-source"), _start(tmp_path_factory, "research")
    try:
        originals, source_ids = {}, {}
        with requests.Session() as session, SplunkTestServer() as splunk:
            session.auth = source.auth
            for case in CASES:
                reply = session.post(f"{source.url}/instances", data=case.to_bytes(), timeout=60)
                reply.raise_for_status()
                source_ids[case.name] = reply.json()["ID"]
                originals[case.name] = instance_bytes(source, source_ids[case.name])
            index = splunk.url(index="dicom")
            replicate_tags(source.url_with_credentials, index)
            summary = conditional_replicate(source.url_with_credentials, index, research.url_with_credentials,
                                            "RecordType=instance", anonymize=PROFILE,
                                            raise_on_failure=False)
        copies = {}
        for instance_id in instance_ids(research):
            data = instance_bytes(research, instance_id)
            copies[int(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).InstanceNumber)] = data
        yield CorpusRun(source, research, summary, originals, source_ids, copies)
    finally:
        source.stop(kill=True)
        research.stop(kill=True)


def read(data: bytes) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(data))


def each(expected: str) -> list:
    """The cases with that outcome, each its own test id."""
    return [pytest.param(case, id=case.name) for case in CASES if case.expected == expected]


@pytest.mark.parametrize("case", each(SENT))
def test_a_sent_case_arrives_clean_valid_and_with_its_pixels(run, case):
    copy = run.copy_of(case)
    assert copy is not None, f"{case.name} did not arrive (summary: {run.summary.line()})"
    original, deidentified = read(run.originals[case.name]), read(copy)
    problems = [f"walk: {finding}" for finding in audit(deidentified, original_identifiers(original))]
    problems += [f"dicognito: {finding}" for finding in second_opinion(original, deidentified)]
    problems += [f"dciodvfy: {error}" for error in iod_validator.new_errors(run.originals[case.name], copy)]
    assert not problems, "\n".join(problems)
    assert deidentified.get("PixelData") == original.get("PixelData")  # the de-identifier never alters pixels


@pytest.mark.parametrize("case", each(WITHHELD))
def test_a_withheld_case_never_arrives_and_is_counted_with_its_reason(run, case):
    assert case.marker not in run.copies, f"{case.name} reached the research store"
    tags = OrthancHook.from_url(run.source.url_with_credentials).simplified_tags(run.source_ids[case.name])
    reason = PROFILE.withheld_reason(tags)  # what the planner asks, per instance
    assert reason and re.search(REASON_KINDS[case.reason], reason), f"reason {reason!r}, expected {case.reason}"
    assert run.summary.withheld_reasons.get(reason, 0) >= 1  # ... and the summary counts it


def test_the_counts_add_up(run):
    withheld = [case for case in CASES if case.expected == WITHHELD]
    assert run.summary.withheld == len(withheld), run.summary.line()
    assert sum(run.summary.withheld_reasons.values()) == len(withheld)
    assert run.summary.copied == len(CASES) - len(withheld)


def test_no_valid_instance_makes_the_run_fail(run):
    assert run.summary.failed == 0, run.summary.failure_text()


@pytest.mark.parametrize("pair", [pytest.param(pair, id="-vs-".join(pair)) for pair in DISTINCT_IDENTITIES])
def test_two_people_keep_two_pseudonyms_and_two_date_shifts(run, pair):
    first, second = (CASES_BY_NAME[name] for name in pair)
    copies = [run.copy_of(case) for case in (first, second)]
    assert None not in copies, "a case of the pair did not arrive"
    a, b = (read(copy) for copy in copies)
    assert a.PatientID != b.PatientID, "two patients share one pseudonym"
    assert a.StudyDate != b.StudyDate, "two patients share one date shift (their studies were on the same day)"
