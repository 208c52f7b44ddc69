"""Test session set-up: a private Airflow home with SQLite, and real Orthanc servers on demand.

The environment is set before anything imports Airflow, so every test runs against a throw-away
``AIRFLOW_HOME`` and never touches a developer's own Airflow.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="copydicom-airflow-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__CORE__TEST_CONNECTION"] = "Enabled"
os.environ.setdefault("AIRFLOW__CORE__PARALLELISM", "4")

pytest_plugins = ["tests.support.fixtures_orthanc", "tests.support.fixtures_airflow"]

