"""What the project's DAGs share: task defaults, the window part of the trigger form, and enumeration.

Kept in the package (not in ``dags/``) so that every DAG, and a user's own, imports one definition.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param

from copydicom_provider.core.window import WINDOW_KINDS, enumerate_candidates, resolve_window
from copydicom_provider.hooks.orthanc import OrthancHook

#: Airflow pool capping concurrent tasks against clinical archives; create it once per deployment:
#: ``airflow pools set orthanc 4 "copydicom tasks against Orthanc archives"``.
ORTHANC_POOL = os.environ.get("COPYDICOM_POOL", "orthanc")

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "radiology-it",
    "pool": ORTHANC_POOL,
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


def window_params(action: str) -> dict[str, Param]:
    """The trigger form's window fields; ``action`` words the dry-run switch ("copied", "sent")."""
    return {
        "window": Param("received", type="string", enum=list(WINDOW_KINDS), title="Window",
                        description="received: the run's interval or since/until; study_date: by StudyDate; all: everything"),
        "since": Param(None, type=["null", "string"], format="date-time", title="Received since (UTC)",
                       description="Overrides the interval start for window=received"),
        "until": Param(None, type=["null", "string"], format="date-time", title="Received until (UTC, exclusive)"),
        "study_date_from": Param(None, type=["null", "string"], format="date", title="First study date"),
        "study_date_to": Param(None, type=["null", "string"], format="date", title="Last study date (inclusive)"),
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description=f"Count what would be {action}; change nothing"),
    }


def window_batches(
    params: dict[str, Any], interval_start: datetime | None, interval_end: datetime | None
) -> list[dict[str, list[str]]]:
    """Enumerate the run's window on the source once; batches for the mapped tasks."""
    window = resolve_window(
        params["window"],
        since=params.get("since"),
        until=params.get("until"),
        study_date_from=params.get("study_date_from"),
        study_date_to=params.get("study_date_to"),
        interval_start=interval_start,
        interval_end=interval_end,
    )
    source = OrthancHook(params["source_conn_id"])
    candidates = enumerate_candidates(source, window)
    batches = candidates.split()
    print(
        f"{window.describe()}: {len(candidates.studies)} studies and {len(candidates.instances)} "
        f"instances on {source.url}, in {len(batches)} batch(es)"
    )
    return [batch.as_dict() for batch in batches]
