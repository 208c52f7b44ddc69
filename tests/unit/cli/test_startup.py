"""``copydicom --help``, ``--version`` and usage mistakes import no Airflow, and say what to type instead.

Each case is a fresh ``python -X importtime -m copydicom_provider.cli`` (the interpreter lists every module it
imports on stderr), so an Airflow import anywhere on the way fails here, whatever pulls it in. How long the
answer takes is measured in ``benchmarks/cli_startup.py``, not here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from copydicom_provider import __version__
from copydicom_provider.cli.parser import COMMAND_NAMES, check_combination, parse_args, unknown_command

ROOT = Path(__file__).resolve().parents[3]
IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(?P<module>\S+)$", re.M)


def copydicom(*args: str) -> tuple[int, str, str, set[str]]:
    """Exit code, stdout, stderr without the import lines, and the modules imported."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("COPYDICOM_")}, "PYTHONPATH": str(ROOT),
           "COLUMNS": "100"}
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "copydicom_provider.cli", *args],
                            capture_output=True, text=True, env=env, timeout=120)
    modules = set(IMPORTED.findall(result.stderr))
    stderr = "".join(line for line in result.stderr.splitlines(keepends=True) if not line.startswith("import time:"))
    return result.returncode, result.stdout, stderr, modules


def assert_no_airflow(modules: set[str]) -> None:
    assert "copydicom_provider.cli.parser" in modules  # the listing works: it saw the parser
    airflow = sorted(m for m in modules if m == "airflow" or m.startswith("airflow."))
    assert not airflow, f"imported Airflow: {airflow[:5]}"
    heavy = sorted(m for m in modules if m.split(".")[0] in {"requests", "pydicom", "sqlalchemy", "pendulum"})
    assert not heavy, f"imported what only a command needs: {heavy[:5]}"


def test_help_lists_the_commands_without_airflow() -> None:
    code, out, err, modules = copydicom("--help")
    assert code == 0 and err == "", err
    assert out.startswith("usage: copydicom") and all(name in out for name in COMMAND_NAMES)
    assert_no_airflow(modules)


def test_a_commands_help_and_the_version_without_airflow() -> None:
    code, out, _, modules = copydicom("conditional-replicate", "--help")
    assert code == 0 and "--anonymize" in out and "exit codes:" in out
    assert_no_airflow(modules)
    code, out, err, modules = copydicom("--version")
    assert (code, out, err) == (0, f"copydicom {__version__}\n", "")
    assert_no_airflow(modules)


def test_a_mistyped_command_gets_one_line_with_the_closest_command() -> None:
    code, out, err, modules = copydicom("replicat", "--src", "http://pacs:8042")
    assert (code, out) == (2, "")
    assert err == "copydicom: unknown command 'replicat': did you mean 'replicate'? (see copydicom --help)\n"
    assert_no_airflow(modules)


@pytest.mark.parametrize(("args", "said"), [
    (["replicate", "--since", "yesterday"], "argument --since: 'yesterday' is not an ISO 8601 time"),
    (["replicate", "--dry-rnu"], "unrecognized arguments: --dry-rnu (did you mean --dry-run?)"),
    (["replicate", "--since", "2026-11-02", "--until", "2026-11-01"], "--until (2026-11-01T00:00:00+00:00) is not"),
    (["conditional-replicate", "--src", "http://pacs:8042"], "one of the arguments --query --spl is required"),
    (["replicate-tags", "--max-parallel"], "argument --max-parallel: expected one argument"),
    (["conditional-replicate", "--query", "Modality=SR", "--anonymize"], "variable COPYDICOM_PSEUDONYM_KEY"),
    (["replicate", "--ca-bundle", "no-such-ca.pem"], "--ca-bundle: 'no-such-ca.pem' is not a readable file"),
    (["replicate", "--dest", "http://research:8042"], "--src is missing: give the URL, or set the environment"),
    (["replicate", "--src", "http://orthanc:Hunter#2-secret@pacs:8042"], "percent-encode it (# as %23)"),
    (["replicate-tags", "--src", "http://pacs:8042", "--index", "splunk.example.org:8089"], "--index: not a URL"),
])
def test_a_bad_or_missing_option_exits_2_under_the_commands_usage_without_airflow(args: list[str], said: str) -> None:
    code, out, err, modules = copydicom(*args)
    assert code == 2 and out == "", err
    assert err.startswith(f"usage: copydicom {args[0]}") and said in err.splitlines()[-1], err
    assert "Hunter" not in err
    assert_no_airflow(modules)


def test_a_url_typed_in_place_of_the_command_is_not_quoted_back() -> None:
    assert unknown_command("http://orthanc:Hunter-2-secret@pacs:8042") == (
        "unknown command 'http://***@pacs:8042': use one of replicate, replicate-tags, conditional-replicate, "
        "dose-report (see copydicom --help)")
    assert unknown_command("tags").startswith("unknown command 'tags': did you mean 'replicate-tags'?")


def test_the_window_order_is_compared_in_utc_and_a_one_sided_window_is_accepted(capsys) -> None:
    servers = ["replicate", "--src", "http://pacs:8042", "--dest", "http://research:8042"]
    accepted = parse_args([*servers, "--since", "2026-11-01T08:00:00+01:00", "--until", "2026-11-01T07:00:01Z"])
    assert accepted.since < accepted.until
    check_combination(parse_args([*servers, "--since", "2026-11-01T08:00:00+01:00"]))
    with pytest.raises(SystemExit) as refused:  # 08:00+01:00 is 07:00Z: an empty window
        parse_args([*servers, "--since", "2026-11-01T08:00:00+01:00", "--until", "2026-11-01T07:00:00Z"])
    assert refused.value.code == 2 and "swap them?" in capsys.readouterr().err
