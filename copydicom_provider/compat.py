"""Names that moved between the Airflow 3.x releases this provider supports (3.1 to 3.3).

One place for the difference, so that modules import the name from here and not a version check.
"""

from __future__ import annotations

from airflow import __version__ as AIRFLOW_VERSION
from packaging.version import Version

#: Airflow 3.2+ reads connection forms from ``get_provider_info()`` (``conn-fields``) in every
#: process; 3.1 only through the hooks, in its UI (``/ui/connections/hook_meta``) and with
#: Flask-AppBuilder installed, so its CLI (``airflow providers behaviours``) lists none of them.
READS_PROVIDER_FORMS = Version(AIRFLOW_VERSION).release[:2] >= (3, 2)

try:
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
except ImportError:  # Airflow 3.1 (task SDK 1.1) keeps them in airflow.exceptions only
    from airflow.exceptions import AirflowFailException, AirflowSkipException  # type: ignore[no-redef]

try:
    from airflow.sdk import AssetOrTimeSchedule
except ImportError:  # Airflow 3.1: only the scheduler's own class, which DAG files may use there
    from airflow.timetables.assets import AssetOrTimeSchedule  # type: ignore[assignment]

__all__ = ["AIRFLOW_VERSION", "READS_PROVIDER_FORMS", "AirflowFailException", "AirflowSkipException",
           "AssetOrTimeSchedule"]
