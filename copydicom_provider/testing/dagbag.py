"""Airflow's ``DagBag`` wherever the installed Airflow 3.x keeps it.

Airflow 3.2 moved it to ``airflow.dag_processing.dagbag``; 3.1 has it in ``airflow.models.dagbag``.
The tests and the demo parse the project's DAGs with it on every supported version.
"""

from __future__ import annotations

try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow < 3.2
    from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

__all__ = ["DagBag"]
