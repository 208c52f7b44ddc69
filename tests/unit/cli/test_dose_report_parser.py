"""``copydicom dose-report``'s options: the DAG's params, checked before Airflow is imported."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from copydicom_provider.cli.parser import parse_args
from tests.unit.cli.test_startup import assert_no_airflow, copydicom

INDEX = ["--index", "http://splunk:8089?index=dicom"]


def test_the_options_map_to_the_dags_params() -> None:
    args = parse_args(["dose-report", *INDEX, "--quarter", "2026q2", "--out", "reports", "--levels", "local.csv"])
    assert (args.command, args.quarter, args.out, args.levels) == ("dose-report", "2026-Q2", "reports", "local.csv")
    assert (args.since, args.until, args.outlier_factor, args.splunk_index) == (None, None, 2.0, None)
    window = parse_args(["dose-report", *INDEX, "--since", "2026-04-01", "--until", "2026-05-01T00:00:00+02:00",
                         "--out", "r", "--outlier-factor", "3", "--splunk-index", "dicom_test"])
    # a time without an offset is a study time as the scanners wrote it: kept without a zone (reports.period)
    assert window.since == datetime(2026, 4, 1) and window.quarter is None and window.time_zone == "UTC"
    assert window.until.astimezone(timezone.utc) == datetime(2026, 4, 30, 22, tzinfo=timezone.utc)
    assert (window.outlier_factor, window.splunk_index) == (3.0, "dicom_test")


def test_help_without_airflow() -> None:
    code, out, _, modules = copydicom("dose-report", "--help")
    assert code == 0 and "--quarter QUARTER" in out and "exit codes:" in out
    assert_no_airflow(modules)


@pytest.mark.parametrize(("args", "said"), [
    (["--quarter", "2026Q5", "--out", "r"], "argument --quarter: quarter '2026Q5' is not of the form YYYY-Qn"),
    (["--quarter", "2026Q2", "--since", "2026-04-01", "--until", "2026-05-01", "--out", "r"],
     "choose --quarter or --since/--until, not both"),
    (["--since", "2026-04-01", "--out", "r"], "--since and --until go together"),
    (["--since", "2026-05-01", "--until", "2026-04-01", "--out", "r"], "is not after --since"),
    (["--quarter", "2026Q2", "--out", "r", "--outlier-factor", "1"], "--outlier-factor must be above 1"),
    (["--quarter", "2026Q2"], "the following arguments are required: --out"),
    (["--quarter", "2026Q2", "--out", "r", "--time-zone", "America/Chicgo"],
     "argument --time-zone: time zone 'America/Chicgo' is not an IANA time zone name"),
    # 01:00 in Tokyo is 16:00 the day before in UTC: the window on UTC's clock would be empty
    (["--since", "2026-04-01", "--until", "2026-04-01T01:00:00+09:00", "--out", "r"], "is not after --since"),
])
def test_a_bad_period_or_option_exits_2_without_airflow(args: list[str], said: str) -> None:
    code, out, err, modules = copydicom("dose-report", *INDEX, *args)
    assert code == 2 and out == "", err
    assert err.startswith("usage: copydicom dose-report") and said in err.splitlines()[-1], err
    assert_no_airflow(modules)
