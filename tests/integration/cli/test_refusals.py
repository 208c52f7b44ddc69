"""A refused credential names what to fix: the option or ``COPYDICOM_*`` variable it came from; never its value.

Real Orthanc servers (with authentication) and the Splunk test server, shared by the module: every case
is refused at its first request, so nothing is copied or indexed and the servers stay as they were.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from copydicom_provider.cli import app as cli
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.orthanc_server import OrthancServer
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.support.fixtures_orthanc import instance_ids, seed

COPYDICOM = str(Path(sys.executable).with_name("copydicom"))
WRONG = "Not-The-Password-42"
CREDENTIAL_VARIABLES = [f"COPYDICOM_{role}{suffix}" for role in ("SRC", "DEST", "INDEX")
                        for suffix in ("", "_USER", "_PASSWORD", "_HEC_TOKEN", "_TOKEN")]


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[tuple[OrthancServer, OrthancServer]]:
    source = OrthancServer(tmp_path_factory.mktemp("source"), name="source").start()
    destination = OrthancServer(tmp_path_factory.mktemp("destination"), name="destination").start()
    seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=1))
    yield source, destination
    source.stop(kill=True)
    destination.stop(kill=True)


@pytest.fixture(scope="module")
def splunk() -> Iterator[SplunkTestServer]:
    with SplunkTestServer() as server:
        yield server


@pytest.fixture(autouse=True)
def no_credentials_from_the_shell(monkeypatch) -> None:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def bare(server: OrthancServer) -> str:
    return f"http://127.0.0.1:{server.http_port}"


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_wrong_password_in_the_environment_names_both_variables_and_is_never_printed(servers):
    """As a user runs it: the installed script, credentials in the environment, everything it prints read."""
    source, destination = servers
    env = {**os.environ, "COPYDICOM_SRC_USER": source.username, "COPYDICOM_SRC_PASSWORD": WRONG,
           "COPYDICOM_DEST": destination.url_with_credentials}
    result = subprocess.run([COPYDICOM, "replicate", "--src", bare(source)], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"copydicom: Orthanc at {bare(source)} refused the credentials (HTTP 401)"), last
    assert last.endswith("check COPYDICOM_SRC_USER and COPYDICOM_SRC_PASSWORD (the user and password for --src)")
    assert "connection's login" not in last and "COPYDICOM_DEST" not in last
    assert WRONG not in result.stdout + result.stderr
    assert instance_ids(destination) == set()


@pytest.mark.parametrize(("where", "said"), [
    ("option", ("the user and password in --dest's URL were refused: correct them, or leave them out of the URL "
                "and set COPYDICOM_DEST_USER and COPYDICOM_DEST_PASSWORD")),
    ("url-variable", "the user and password in the URL in COPYDICOM_DEST were refused"),
])
def test_a_wrong_password_in_a_url_names_that_url_and_the_variables_to_use_instead(
        where, said, servers, capsys, monkeypatch):
    source, destination = servers
    wrong = f"http://{destination.username}:{WRONG}@127.0.0.1:{destination.http_port}"
    args = ["replicate", "--src", source.url_with_credentials]
    if where == "option":
        args += ["--dest", wrong]
    else:
        monkeypatch.setenv("COPYDICOM_DEST", wrong)
    code, out, err = run(args, capsys)
    assert code == 2 and out == "", err
    assert "destination Orthanc" in err and said in err and "--src" not in err.split("refused the credentials")[1]
    assert WRONG not in err


def test_no_credentials_for_a_server_that_asks_for_them_names_the_variables_to_set(servers, capsys):
    source, destination = servers
    code, _out, err = run(["replicate", "--src", bare(source), "--dest", destination.url_with_credentials], capsys)
    assert code == 2
    assert "--src was given no user and password: set COPYDICOM_SRC_USER and COPYDICOM_SRC_PASSWORD" in err, err


def test_a_refused_hec_token_names_copydicom_index_hec_token(servers, splunk, capsys, monkeypatch):
    source, _ = servers
    monkeypatch.setenv("COPYDICOM_INDEX_HEC_TOKEN", "Wrong-Hec-Token-42")
    index = (f"http://{splunk.username}:{splunk.password}@127.0.0.1:{splunk.mgmt_port}"
             f"?index=dicom&hec_port={splunk.hec_port}&settle_delay=0")
    code, out, err = run(["replicate-tags", "--src", source.url_with_credentials, "--index", index], capsys)
    assert code == 2 and out == "", err
    assert "refused the request (HTTP 403, code 4): Invalid token" in err
    assert "check COPYDICOM_INDEX_HEC_TOKEN (the HEC token for --index)" in err
    assert "Wrong-Hec-Token-42" not in err and splunk.password not in err and splunk.events == []


def test_a_refused_search_login_names_the_index_user_and_password(servers, splunk, capsys, monkeypatch):
    source, _ = servers
    monkeypatch.setenv("COPYDICOM_INDEX_USER", splunk.username)
    monkeypatch.setenv("COPYDICOM_INDEX_PASSWORD", WRONG)
    index = f"http://127.0.0.1:{splunk.mgmt_port}?index=dicom&hec_port={splunk.hec_port}&hec_token={splunk.hec_token}"
    code, _out, err = run(["replicate-tags", "--src", source.url_with_credentials, "--index", index], capsys)
    assert code == 2
    assert "/services/auth/login (HTTP 401)" in err, err
    assert "check COPYDICOM_INDEX_USER and COPYDICOM_INDEX_PASSWORD (the user and password for --index)" in err
    assert WRONG not in err and splunk.hec_token not in err and splunk.events == []
