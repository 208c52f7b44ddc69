"""Pytest fixtures for real Airflow: a migrated SQLite metadata database and the project's DagBag."""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT


@pytest.fixture(scope="session")
def airflow_db():
    """A fresh metadata database in the session's private AIRFLOW_HOME (SQLite)."""
    from airflow.utils import db

    db.resetdb()


@pytest.fixture
def dagbag(airflow_db):
    """Parsed afresh for each test: an in-process dag.test() renders templates onto the task objects."""
    from copydicom_provider.testing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag
