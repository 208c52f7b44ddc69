"""Secrets of the research path: the pseudonym key, CLI credentials, malformed URLs, private CAs.

Each test checks what a person or a log reader would see: Airflow's connection API answer, the
rendered task fields, the CLI's output and exit code, and real TLS handshakes through a proxy in
front of a real Orthanc.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from airflow.utils.state import DagRunState

from copydicom_provider.cli import app as cli
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.forms import ORTHANC_CONNECTION_TYPE, PSEUDONYM_FIELD
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.operators.conditional_replicate import ConditionalReplicateOperator
from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dose_sr import make_ct_dose_sr, to_bytes
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.integration.dags.test_copydicom_conditional_replicate import connections
from tests.support.fixtures_orthanc import connection_json, instance_ids, seed
from tests.support.tls_proxy import TLSProxy

KEY = "pseudonym-key-c0ffee-5150"
PASSWORD = "Pw-9f8e7d-secret"


def test_the_pseudonym_key_is_a_password_field_that_airflow_masks():
    field = ORTHANC_CONNECTION_TYPE["conn-fields"][PSEUDONYM_FIELD]
    assert field["schema"]["format"] == "password"
    from airflow.api_fastapi.core_api.datamodels.connections import ConnectionResponse
    from airflow.providers_manager import ProvidersManager

    from copydicom_provider.compat import READS_PROVIDER_FORMS

    if READS_PROVIDER_FORMS:  # Airflow 3.1 builds its form widgets only in its UI (tests/unit/hooks/test_forms_ui.py)
        assert ProvidersManager().connection_form_widgets[f"extra__orthanc__{PSEUDONYM_FIELD}"].is_sensitive
    answer = ConnectionResponse(
        connection_id="research", conn_type="orthanc", description=None, host="127.0.0.1", login="orthanc",
        schema=None, port=8042, password=PASSWORD, team_name=None,
        extra=json.dumps({PSEUDONYM_FIELD: KEY, "max_parallel": 4}),
    ).model_dump_json()
    masked = KEY not in answer and PASSWORD not in answer  # a bool: a failing assert then prints no secret
    assert masked and "max_parallel" in answer  # the REST API's view


def test_the_key_is_no_task_argument_and_a_legacy_extra_is_refused_without_echo(destination, monkeypatch):
    assert not any("pseudonym" in name for name in ConditionalReplicateOperator.template_fields)
    monkeypatch.setenv("AIRFLOW_CONN_LEGACY_RESEARCH", connection_json(destination, pseudonym_key=KEY))
    task = ConditionalReplicateOperator(task_id="copy", query="Modality=SR", destination_conn_id="legacy_research")
    with pytest.raises(ValueError, match="rename it to 'pseudonym_secret'") as refused:
        task.profile(OrthancHook("legacy_research"))
    echoed = KEY in str(refused.value)
    assert not echoed


def test_a_deidentifying_run_keeps_the_key_out_of_rendered_fields_logs_and_xcom(
        dagbag, source, destination, monkeypatch, capfd):
    report = requests.post(f"{source.url}/instances", data=to_bytes(make_ct_dose_sr(seed=81)[0]),
                           auth=source.auth, timeout=30).json()["ID"]
    with SplunkTestServer() as splunk:
        splunk.add_event({"RecordType": "instance", "SeriesDescription": "Dose Record", "OrthancInstanceID": report},
                         time_=1_700_000_000, index="dicom")
        conf = connections(monkeypatch, source, destination, splunk.connection_json(), pseudonym_secret=KEY)
        run = dagbag.get_dag("copydicom_conditional_replicate").test(
            logical_date=datetime.now(timezone.utc), run_conf=conf
        )
    assert run.state == DagRunState.SUCCESS and len(instance_ids(destination)) == 1
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.utils.session import create_session

    with create_session() as session:
        rendered = [
            row.rendered_fields for row in session.query(RenderedTaskInstanceFields).filter_by(run_id=run.run_id)
        ]
    copy = next(ti for ti in run.get_task_instances() if ti.task_id == "copy")
    output = capfd.readouterr()
    in_rendered = KEY in json.dumps(rendered)
    in_xcom_or_logs = KEY in json.dumps(copy.xcom_pull(task_ids="copy")) or KEY in output.out + output.err
    assert rendered and not in_rendered and not in_xcom_or_logs


def copydicom(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """(exit code, stdout, stderr): not the CompletedProcess, whose repr in a failed assert would show argv."""
    command = [str(Path(sys.executable).with_name("copydicom")), *args]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    return done.returncode, done.stdout, done.stderr


def test_the_cli_takes_credentials_from_the_environment_and_url_credentials_still_work(source, destination):
    seed(source, generate_studies(patients=1, studies_per_patient=1, series_per_study=1, instances_per_series=2))
    bare = lambda server: f"http://127.0.0.1:{server.http_port}"  # noqa: E731
    env = {"COPYDICOM_SRC": source.url_with_credentials, "COPYDICOM_DEST": bare(destination),
           "COPYDICOM_DEST_USER": destination.username, "COPYDICOM_DEST_PASSWORD": destination.password}
    code, out, err = copydicom(["replicate", "--json"], env)
    leaked = [secret for secret in (source.password, destination.password) if secret in out + err]
    assert code == 0 and not leaked and json.loads(out)["copied"] == 2, scrub_for_report(err)
    code, out, err = copydicom(
        ["replicate", "--src", source.url_with_credentials, "--dest", destination.url_with_credentials], {}
    )
    leaked = source.password in out + err
    assert code == 0 and "process list" in err and not leaked  # works, with a warning
    code, _, err = copydicom(["replicate", "--json"], {**env, "COPYDICOM_DEST_USER": ""})
    assert code == 2 and "COPYDICOM_DEST_USER" in err


def scrub_for_report(text: str) -> str:
    return cli.scrub(text)[-2000:]


MALFORMED = [
    f"http//orthanc:{PASSWORD}@127.0.0.1:8042",
    f"orthanc:{PASSWORD}@127.0.0.1:8042",
    f"http:/orthanc:{PASSWORD}@127.0.0.1:8042",
    f"http:orthanc:{PASSWORD}@127.0.0.1",
    f"ftp://orthanc:{PASSWORD}@127.0.0.1",
    f"http://orthanc:{PASSWORD}@127.0.0.1:80x",
    f"http://orthanc:{PASSWORD}@",
    f"http://orthanc:{PASSWORD}@host@127.0.0.1:1",
    f" http://orthanc:{PASSWORD}@127.0.0.1:1?x=%zz",
]


@pytest.mark.parametrize(
    "url", MALFORMED, ids=[f"malformed-{n}" for n in range(len(MALFORMED))]
)  # ids show no password
def test_no_error_quotes_a_password_whatever_the_malformation(url, capsys):
    for args in (["replicate", "--src", url, "--dest", "http://127.0.0.1:1"],
                 ["conditional-replicate", "--src", "http://127.0.0.1:1", "--dest", "http://127.0.0.1:1",
                  "--index", url.replace("8042", "8089"), "--query", "Modality=SR"],
                 ["replicate", "--sorce", url]):
        try:
            code = cli.main(args)
        except SystemExit as exit_:  # argparse's own errors
            code = exit_.code
        out = capsys.readouterr()
        leaked = PASSWORD in out.out + out.err
        assert code == 2 and not leaked, cli.scrub(out.err).replace(PASSWORD, "***")
        assert out.err.strip(), "an error must say what was wrong"


def test_verify_takes_a_ca_bundle_and_uses_it(source, tmp_path, monkeypatch):
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(variable, raising=False)
    with TLSProxy(source.http_port, tmp_path) as proxy:
        https = f"https://{source.username}:{source.password}@127.0.0.1:{proxy.port}"
        with pytest.raises(OrthancError, match=r"(?i)certificate"):
            OrthancHook.from_url(https).system()  # self-signed: refused by default
        assert OrthancHook.from_url(f"{https}?verify={proxy.cert}").system()["Version"]
        import certifi

        monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # the machine's bundle must not override ours
        assert OrthancHook.from_url(f"{https}?verify={proxy.cert}").system()["Version"]
        with pytest.raises(OrthancError, match=r"(?i)certificate"):
            OrthancHook.from_url(f"{https}?verify=true").system()
        with pytest.raises(ValueError, match=r"CA bundle .* not a readable file"):
            OrthancHook.from_url(f"{https}?verify={tmp_path / 'missing.pem'}").system()
