"""Names that moved between the Airflow 3.x releases this provider supports (3.1 to 3.3).

One place for the difference, so that modules import the name from here and not a version check.
"""

from __future__ import annotations

try:
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 3.1 (task SDK 1.1) keeps it in airflow.exceptions only
    from airflow.exceptions import AirflowFailException  # type: ignore[no-redef]

__all__ = ["AirflowFailException"]
