"""`copydicom replicate-tags` as a user runs it (the installed console script), against the library call."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from copydicom_provider.jobs.replicate_tags import replicate_tags
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dose_sr import make_ct_dose_sr
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.integration.jobs.test_replicate_tags import upload
from tests.support.fixtures_orthanc import seed

COPYDICOM = str(Path(sys.executable).with_name("copydicom"))
VOLATILE = {"seconds", "instances_per_second"}


@pytest.fixture
def splunk() -> Iterator[SplunkTestServer]:
    with SplunkTestServer() as server:
        yield server


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([COPYDICOM, "replicate-tags", *args], capture_output=True, text=True, timeout=120)


def stable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in VOLATILE}


def test_cli_and_library_give_the_same_summary_and_never_print_secrets(source, splunk):
    seed(source, generate_studies(patients=1, studies_per_patient=2, series_per_study=1, instances_per_series=2))
    upload(source, make_ct_dose_sr(seed=4, spiral_count=2)[0])
    src, idx = source.url_with_credentials, splunk.url(index="dicom")

    dry = cli("--src", src, "--index", idx, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["to_send"] == 5 and splunk.events == []

    done = cli("--src", src, "--index", idx, "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert (printed["sent"], printed["dose_reports"], printed["irradiation_events"]) == (5, 1, 3)
    assert len(splunk.events) == printed["events_sent"] == 5 + 1 + 3
    assert "progress: indexed 5/5" in done.stderr  # logs on stderr, the summary alone on stdout

    # once everything is indexed, the CLI and the library agree on the no-op rerun
    again_cli = json.loads(cli("--src", src, "--index", idx, "--json").stdout)
    again_lib = replicate_tags(src, idx).as_dict()
    assert stable(again_cli) == stable(again_lib) and again_lib["already_indexed"] == 5

    # and on a fresh index (another one on the same server)
    fresh_cli = json.loads(cli("--src", src, "--index", idx, "--splunk-index", "main", "--json").stdout)
    splunk.state.events[:] = [e for e in splunk.events if e.index != "main"]
    fresh_lib = replicate_tags(src, idx, splunk_index="main").as_dict()
    assert stable(fresh_cli) == stable(fresh_lib) and fresh_lib["sent"] == 5

    text = cli("--src", src, "--index", idx, "--study-date", "20000101-20001231")
    assert (
        text.returncode == 0
        and text.stdout.startswith("replicate-tags: sent 0 instances")
        and "of 0 candidates" in text.stdout
    )
    for result in (dry, done, text):
        for secret in (splunk.hec_token, splunk.password, source.password):
            assert secret not in result.stdout + result.stderr


def test_cli_reports_a_wrong_hec_token_without_printing_either_token(source, splunk):
    seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=1))
    wrong = splunk.url(index="dicom").replace(splunk.hec_token, "Wrong-Token-0000-1111")
    result = cli("--src", source.url_with_credentials, "--index", wrong)
    assert result.returncode == 2, result.stderr
    assert "Invalid token" in result.stderr or "403" in result.stderr
    assert "Wrong-Token-0000-1111" not in result.stdout + result.stderr and splunk.events == []


def test_verify_on_the_cli_sends_again_what_a_mimicking_proxy_never_stored(source, splunk):
    """A proxy answers Splunk's exact success reply for the first batch without storing it: only --verify sees it."""
    seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=3))
    splunk.proxy_answers(1, '{"text":"Success","code":0}', "application/json")
    done = cli("--src", source.url_with_credentials, "--index", splunk.url(index="dicom"), "--verify", "--json")
    assert done.returncode == 0, done.stderr
    assert "verify: the index lacks 3 of the 3 records this run sent" in done.stderr
    assert len(splunk.events) == 3 and json.loads(done.stdout)["sent"] == 3
    assert splunk.hec_token not in done.stdout + done.stderr
