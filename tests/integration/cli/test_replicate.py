"""`copydicom replicate` as a user runs it: the installed console script against real Orthanc servers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from copydicom_provider import replicate
from copydicom_provider.testing.dicom_generator import generate_studies
from tests.support.fixtures_orthanc import instance_ids, seed

COPYDICOM = str(Path(sys.executable).with_name("copydicom"))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([COPYDICOM, *args], capture_output=True, text=True, timeout=120)


def test_cli_and_library_print_and_return_the_same_summary(source, destination):
    items = seed(
        source, generate_studies(patients=2, studies_per_patient=1, series_per_study=1, instances_per_series=4)
    )
    src, dst = source.url_with_credentials, destination.url_with_credentials

    dry = cli("replicate", "--src", src, "--dest", dst, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["to_copy"] == len(items) and instance_ids(destination) == set()

    done = cli("replicate", "--src", src, "--dest", dst, "--json", "--verify")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["copied"] == len(items) and instance_ids(destination) == {i.orthanc_id for i in items}
    assert source.password not in done.stdout + done.stderr

    again_cli = json.loads(cli("replicate", "--src", src, "--dest", dst, "--json").stdout)
    again_lib = replicate(src, dst).as_dict()
    volatile = {"seconds", "instances_per_second"}
    assert {k: v for k, v in again_cli.items() if k not in volatile} == {
        k: v for k, v in again_lib.items() if k not in volatile
    }
    assert again_lib["copied"] == 0 and again_lib["already_present"] == len(items)

    text = cli("replicate", "--src", src, "--dest", dst, "--study-date", "20000101-20001231")
    assert text.returncode == 0 and text.stdout.startswith("replicate: copied 0,") and "of 0 candidates" in text.stdout


def test_cli_reports_a_wrong_password_clearly(source, destination):
    wrong = f"http://{source.username}:Not-The-Password-42@127.0.0.1:{source.http_port}"
    result = cli("replicate", "--src", wrong, "--dest", destination.url_with_credentials)
    assert result.returncode == 2
    assert "401" in result.stderr and "credentials" in result.stderr
    assert "Not-The-Password-42" not in result.stdout + result.stderr


def test_cli_rejects_a_bad_date_with_its_name(source, destination):
    result = cli("replicate", "--src", source.url_with_credentials, "--dest", destination.url_with_credentials,
                 "--since", "yesterday-ish")
    assert result.returncode == 2 and "--since" in result.stderr
