"""What ``copydicom`` says when the input is wrong: the option, the expected format, an exit code; no traceback."""

from __future__ import annotations

import json

import pytest

from copydicom_provider.cli import app as cli
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.support.fixtures_orthanc import instance_ids, seed

NOWHERE = "http://127.0.0.1:1"  # nothing listens: a request there would end in exit 3, not 2


def run(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = cli.main(args)
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("typed", [
    ["--dest-password", "Hunter-2-secret"],  # an option that does not exist: argparse quotes what it was given
    ["http://orthanc:ab'Hunter-2-secret@127.0.0.1:2"],  # a URL without its option, a quote in its password
])
def test_a_password_typed_on_the_command_line_is_not_quoted_back(typed, capsys, monkeypatch):
    monkeypatch.setenv("COPYDICOM_SRC", NOWHERE)
    code, out, err = run(["replicate", *typed], capsys)
    assert code == 2, err
    assert "Hunter-2-secret" not in out + err and "ab'" not in err, err


@pytest.mark.parametrize(("args", "expected"), [
    (["--study-date", "2020-13-01"], ["--study-date", "YYYYMMDD", "20200101-20201231"]),
    (["--study-date", "20201231-20200101"], ["--study-date", "before the first"]),
    (["--since", "yesterday"], ["--since", "ISO 8601", "2026-11-01T00:00:00Z"]),
    (["--timeout", "0"], ["--timeout", "above 0"]),
    (["--max-parallel", "two"], ["--max-parallel", "at least 1"]),
    (["--src", "http://orthanc:Se#cret-12@127.0.0.1:1"], ["--src", "percent-encode", "%23", "COPYDICOM_SRC_PASSWORD"]),
    (["--ca-bundle", "missing-ca.pem"], ["--ca-bundle", "not a readable file"]),
    (["--since", "2026-11-01", "--study-date", "20200101"], ["--study-date", "not both"]),
])
def test_a_mistake_exits_2_naming_the_option_and_its_format(args, expected, capsys, monkeypatch):
    monkeypatch.setenv("COPYDICOM_SRC", NOWHERE)
    monkeypatch.setenv("COPYDICOM_DEST", "http://127.0.0.1:2")
    code, out, err = run(["replicate", *args], capsys)
    assert code == 2 and out == "", err
    assert all(word in err for word in expected), err
    assert "Traceback" not in err and "Se#cret-12" not in err and "parse_moment" not in err
    assert "Skipping masking" not in err


def test_a_study_date_range_in_iso_form_is_accepted(source, destination, capsys):
    seed(source, generate_studies(patients=1, studies_per_patient=2, series_per_study=1, instances_per_series=1))
    code, out, err = run(["replicate", "--src", source.url_with_credentials, "--dest", destination.url_with_credentials,
                          "--study-date", "2020-01-01-2020-06-30", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["copied"] == 1 and len(instance_ids(destination)) == 1  # the first study only


def test_the_same_server_twice_is_a_mistake_not_a_green_run(source, capsys):
    code, out, err = run(
        ["replicate", "--src", source.url_with_credentials, "--dest", source.url_with_credentials], capsys
    )
    assert code == 2 and out == "" and "same server" in err


def test_an_unreachable_server_exits_3(destination, capsys):
    code, out, err = run(["replicate", "--src", NOWHERE, "--dest", destination.url_with_credentials], capsys)
    assert code == 3 and "unreachable" in err and out == ""


def test_anonymize_with_peer_mode_is_refused_before_any_request(capsys, monkeypatch):
    monkeypatch.setenv("COPYDICOM_PSEUDONYM_KEY", "a-long-random-pseudonym-key")
    with SplunkTestServer() as splunk:
        before = len(splunk.requests)
        code, _out, err = run(["conditional-replicate", "--src", NOWHERE, "--dest", "http://127.0.0.1:2",
                              "--index", splunk.url(index="dicom"), "--query", "Modality=SR",
                              "--anonymize", "--mode", "peer"], capsys)
        assert code == 2 and "--anonymize" in err and "--mode rest" in err
        assert len(splunk.requests) == before


def test_a_relative_earliest_is_taken_as_a_value_as_the_readme_writes_it(capsys, monkeypatch):
    with SplunkTestServer() as splunk:
        for form in (["--earliest", "-30d"], ["--earliest=-30d"]):
            code, out, err = run(["conditional-replicate", "--src", NOWHERE, "--dest", "http://127.0.0.1:2",
                                  "--index", splunk.url(index="dicom"), "--query", "Modality=SR", *form, "--json"],
                                 capsys)
            # the search ran (nothing indexed: nothing selected) and no Orthanc was needed
            assert code == 0 and json.loads(out)["candidates"] == 0, err


def test_insecure_and_ca_bundle_reach_an_https_orthanc(source, destination, tmp_path, capsys, monkeypatch):
    from tests.support.tls_proxy import TLSProxy

    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(variable, raising=False)
    seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=2))
    with TLSProxy(source.http_port, tmp_path) as proxy:
        https = f"https://{source.username}:{source.password}@127.0.0.1:{proxy.port}"
        base = ["replicate", "--src", https, "--dest", destination.url_with_credentials, "--dry-run", "--json"]
        code, _, err = run(base, capsys)
        assert code == 3 and "certificate" in err.lower()
        for option in (["--ca-bundle", str(proxy.cert)], ["--insecure"]):
            code, out, err = run([*base, *option, "--timeout", "30", "--max-parallel", "2"], capsys)
            assert code == 0 and json.loads(out)["to_copy"] == 2, err


@pytest.mark.parametrize("url", ["https://svc:Se#cret-12@splunk.invalid:8089?index=dicom",
                                 "https://svc:Se?cret-12@splunk.invalid:8089", "https://svc:Se/cret-12@splunk.invalid:80x"])
def test_the_splunk_hook_never_echoes_part_of_a_password_a_url_parser_misreads(url):
    from copydicom_provider.hooks.splunk import SplunkHook

    with pytest.raises(ValueError, match="Splunk URL") as raised:
        SplunkHook.from_url(url)
    message = str(raised.value)
    assert "Splunk URL" in message and "cret" not in message and "Se" not in message.replace("Splunk", ""), message


def test_a_short_password_brings_no_masking_warning_and_is_not_printed():
    import subprocess
    import sys
    from pathlib import Path

    copydicom = str(Path(sys.executable).with_name("copydicom"))
    result = subprocess.run([copydicom, "replicate", "--src", "http://orthanc:Qz9@127.0.0.1:1", "--dest", NOWHERE],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    assert "Skipping masking" not in result.stderr and "Qz9" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("copydicom: Orthanc at http://127.0.0.1:1 is unreachable")


def test_insecure_and_ca_bundle_reach_an_https_splunk(source, tmp_path, capsys, monkeypatch):
    """Splunk's management and HEC ports behind TLS with their own self-signed certificates: refused
    untrusted in plain words, then indexed with ``--ca-bundle`` (both CAs in one PEM) and, without
    sending anything twice, with ``--insecure``."""
    from tests.support.tls_proxy import TLSProxy

    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(variable, raising=False)
    items = seed(
        source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=2)
    )
    (tmp_path / "mgmt").mkdir()
    (tmp_path / "hec").mkdir()
    with SplunkTestServer() as splunk, TLSProxy(splunk.mgmt_port, tmp_path / "mgmt") as mgmt, \
            TLSProxy(splunk.hec_port, tmp_path / "hec") as hec:
        splunk.set_search_lag(0)  # the rerun must find what the first run indexed
        index = (f"https://{splunk.username}:{splunk.password}@127.0.0.1:{mgmt.port}"
                 f"?hec_port={hec.port}&hec_token={splunk.hec_token}&index=dicom&settle_delay=0")
        base = ["replicate-tags", "--src", source.url_with_credentials, "--index", index, "--json"]
        code, out, err = run(base, capsys)
        assert code == 3 and "certificate is not trusted" in err and out == "", err
        assert splunk.password not in err and splunk.hec_token not in err
        bundle = tmp_path / "both-cas.pem"
        bundle.write_bytes(mgmt.cert.read_bytes() + hec.cert.read_bytes())
        code, out, err = run([*base, "--ca-bundle", str(bundle)], capsys)
        assert code == 0 and json.loads(out)["sent"] == len(items), err
        code, out, err = run([*base, "--insecure"], capsys)
        assert code == 0 and json.loads(out)["already_indexed"] == len(items), err
        keys = [event.indexed.get("copydicom_key") for event in splunk.events]
        assert sorted(keys) == sorted(f"{i.orthanc_id}:instance" for i in items)


@pytest.mark.parametrize(("fault", "said"), [
    ("busy", "Server is busy"),
    ("searches_refused", "maximum number of concurrent historical searches"),
    ("peer_down", "incomplete results"),
])
def test_a_busy_or_partly_down_splunk_exits_3_not_2(source, capsys, fault, said):
    """503 "Server is busy" from HEC, a search API refusing searches (503), a search peer down: Splunk is
    busy or down, not misconfigured, so the exit code says "try again later" (3), not "fix your input" (2)."""
    seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=2))
    with SplunkTestServer() as splunk:
        switch = {"busy": splunk.busy_forever, "searches_refused": lambda: splunk.searches_refused(100),
                  "peer_down": lambda: splunk.partial_peers(100)}
        switch[fault]()
        code, out, err = run(["replicate-tags", "--src", source.url_with_credentials,
                              "--index", splunk.url(index="dicom")], capsys)
        assert code == 3 and said in err and out == "", err
        assert splunk.events == [] and splunk.hec_token not in err and splunk.password not in err


def test_a_short_password_is_not_spelt_out_by_starring_it_inside_words(capsys):
    """With the password ``st`` the refusal read ``nothing li***ens on that ho*** and port``: a secret
    shorter than Airflow's ``min_length_masked_secret`` is not masked (its URL's userinfo still is)."""
    code, out, err = run(["replicate", "--src", "http://orthanc:st@127.0.0.1:1", "--dest", NOWHERE], capsys)
    assert code == 3 and out == "", err
    assert "nothing listens on that host and port" in err and "***" not in err.replace("://***@", ""), err
    assert "orthanc:st@" not in err


def test_a_secret_is_masked_where_it_stands_whole_and_airflows_minimum_length_applies(monkeypatch):
    from copydicom_provider.cli.urls import SEEN_SECRETS, scrub

    monkeypatch.setattr("copydicom_provider.cli.urls.SEEN_SECRETS", {*SEEN_SECRETS, "hunter22", "Pw-9f8e7d"})
    text = "refused hunter22, user 'Pw-9f8e7d'; hunter22s and xPw-9f8e7dy are other words"
    assert scrub(text) == "refused ***, user '***'; hunter22s and xPw-9f8e7dy are other words"
    monkeypatch.setenv("AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET", "9")
    assert scrub("refused hunter22 (from Pw-9f8e7d)") == "refused hunter22 (from ***)"
