"""Every shell command of the README that can run here, run as written, in order, on a fresh AIRFLOW_HOME.

Example hosts and credentials are swapped for local servers (real Orthanc processes, the Splunk-compatible
test server); nothing else in a command is changed. Airflow commands outside the setup steps (backfills,
which need a scheduler) and ``pip install`` (the package is already installed) are left out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from copydicom_provider.testing.dicom_generator import generate_studies
from copydicom_provider.testing.dose_sr import make_ct_dose_sr
from copydicom_provider.testing.splunk import SplunkTestServer
from tests.integration.jobs.test_replicate_tags import upload
from tests.support.fixtures_orthanc import instance_ids, seed

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)
AIRFLOW_SETUP = ("airflow db migrate", "airflow pools set", "airflow providers list", "airflow connections test")
EXAMPLE_HOSTS = re.compile(r"pacs|research:|splunk:|example\.org")


def readme_commands() -> list[str]:
    """The README's bash lines (continuations joined, comments dropped) that can run on this machine."""
    commands = []
    for block in FENCE.findall(README.read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#(?![^']*'\s*$).*$", "", line).strip()  # a trailing comment, not a # in quotes
            program = re.sub(r"^(\w+=\S+\s+)*", "", line)
            if line.startswith("export ") or program.startswith("copydicom ") or program.startswith(AIRFLOW_SETUP):
                commands.append(line)
    return commands


def local(command: str, source, destination, splunk) -> str:
    """``command`` with the README's example servers replaced by the local ones."""
    swaps = {
        "orthanc:secret@pacs.example.org:8042": f"{source.username}:{source.password}@127.0.0.1:{source.http_port}",
        "http://pacs:8042": f"http://127.0.0.1:{source.http_port}",
        "http://research:8042": f"http://127.0.0.1:{destination.http_port}",
        "https://splunk:8089?index=dicom&hec_port=8088": f"http://127.0.0.1:{splunk.mgmt_port}?index=dicom&hec_port={splunk.hec_port}",
        "COPYDICOM_SRC_USER=orthanc": f"COPYDICOM_SRC_USER={source.username}",
        "COPYDICOM_SRC_PASSWORD=secret": f"COPYDICOM_SRC_PASSWORD={source.password}",
        "COPYDICOM_DEST_USER=orthanc": f"COPYDICOM_DEST_USER={destination.username}",
        "COPYDICOM_DEST_PASSWORD=secret": f"COPYDICOM_DEST_PASSWORD={destination.password}",
        "COPYDICOM_INDEX_USER=svc": f"COPYDICOM_INDEX_USER={splunk.username}",
        "COPYDICOM_INDEX_PASSWORD=secret": f"COPYDICOM_INDEX_PASSWORD={splunk.password}",
        "COPYDICOM_INDEX_HEC_TOKEN=hec-token": f"COPYDICOM_INDEX_HEC_TOKEN={splunk.hec_token}",
    }
    for example, here in swaps.items():
        command = command.replace(example, here)
    return command


def test_the_readmes_commands_work_as_written_in_order(source, destination, tmp_path):
    items = seed(
        source, generate_studies(patients=1, studies_per_patient=2, series_per_study=1, instances_per_series=2)
    )
    upload(source, make_ct_dose_sr(seed=3, spiral_count=1)[0])
    commands = readme_commands()
    programs = " | ".join(commands)
    for needed in ("airflow db migrate", "airflow pools set", "airflow connections test", "copydicom replicate ",
                   "copydicom replicate-tags", "copydicom conditional-replicate"):
        assert needed in programs, f"the README no longer shows {needed!r}"
    assert programs.index("airflow db migrate") < programs.index("airflow pools set")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "COPYDICOM"))}
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow"), PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    with SplunkTestServer() as splunk:
        lines = [local(c, source, destination, splunk) for c in commands]
        runs = [line for line in lines if not line.startswith("export ")]
        assert not [line for line in runs if EXAMPLE_HOSTS.search(line)], "an example host the test cannot map"
        script = "set -euo pipefail\n" + "".join(
            f"echo '### {n}' >&2\n{line}\n" if not line.startswith("export ") else f"{line}\n"
            for n, line in enumerate(lines)
        )
        result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=600)
        failed_at = re.findall(r"^### (\d+)$", result.stderr, re.M)
        where = lines[int(failed_at[-1])].split(" ")[:4] if failed_at else "?"
        assert result.returncode == 0, f"README command {where} failed: {result.stderr[-3000:]}"
        assert "Connection success!" in result.stdout and "copydicom" in result.stdout
        assert len(splunk.events) >= len(items) + 1  # replicate-tags indexed every instance
    assert {i.orthanc_id for i in items} <= instance_ids(destination)
    for secret in (source.password, splunk.password, splunk.hec_token):
        assert secret not in result.stdout + result.stderr
