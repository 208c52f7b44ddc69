"""How fast ``copydicom`` answers what needs no server: ``--help``, ``--version``, a typo, a bad option (a benchmark,
not a test).

Each is a fresh process, as a user's shell starts it, timed by wall clock; the figure is the median of
``--runs`` runs after one warm-up (which writes the byte-code caches). In the same run, with the same
interpreter, it times ``python -c "import airflow"`` (what every answer cost when the parser imported
Airflow) and ``python -c pass`` (the interpreter's own start-up, the floor). Prints a table with each
figure's ratio to both, then one JSON line; the target is ``help_s`` < 1 on a 2-core machine.

    python benchmarks/cli_startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).with_name("copydicom")
#: What is timed: a name, the arguments after the command, the exit code it must give.
CASES = [
    ("help", ["--help"], 0),
    ("version", ["--version"], 0),
    ("typo", ["replicat"], 2),
    ("bad_option", ["replicate", "--since", "yesterday"], 2),
]


def command() -> list[str]:
    """The installed script when there is one (what users type), else ``python -m``; either runs this checkout."""
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "copydicom_provider.cli"]


def median_seconds(args: list[str], runs: int, env: dict[str, str], code: int = 0) -> float:
    """Median wall time of ``runs`` fresh processes of ``args``, after one warm-up; each must exit ``code``."""
    times = []
    for attempt in range(runs + 1):
        started = time.perf_counter()
        result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
        elapsed = time.perf_counter() - started
        if result.returncode != code:
            raise SystemExit(f"{' '.join(args)} exited {result.returncode}, not {code}: {result.stderr[-500:]}")
        if attempt:
            times.append(elapsed)
    return statistics.median(times)


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--runs", type=int, default=9, help="timed runs of each (default 9; Airflow's: a third)")
    runs = options.parse_args().runs
    with tempfile.TemporaryDirectory() as home:
        # this checkout first, as the tests run it; Airflow's config written to a throw-away home
        env = {**os.environ, "PYTHONPATH": str(REPO), "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        floor = median_seconds([sys.executable, "-c", "pass"], runs, env)
        airflow = median_seconds([sys.executable, "-c", "import airflow"], max(3, runs // 3), env)
        figures: dict[str, float | str] = {"runner": " ".join(Path(part).name for part in command()),
                                           "python_s": round(floor, 3), "import_airflow_s": round(airflow, 3)}
        print(f"{'copydicom ...':<34}{'median s':>10}{'vs import airflow':>19}{'vs python -c pass':>19}")
        for name, args, code in CASES:
            seconds = median_seconds([*command(), *args], runs, env, code)
            figures[f"{name}_s"] = round(seconds, 3)
            figures[f"{name}_vs_import_airflow"] = round(seconds / airflow, 3)
            print(f"{' '.join(args):<34}{seconds:10.3f}{seconds / airflow:19.3f}{seconds / floor:19.2f}")
        for label, seconds in (('(python -c "import airflow")', airflow), ("(python -c pass)", floor)):
            print(f"{label:<34}{seconds:10.3f}{seconds / airflow:19.3f}{seconds / floor:19.2f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
