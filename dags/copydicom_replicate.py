"""Airflow DAG ``copydicom_replicate``: keep a destination Orthanc in sync with a source Orthanc, hourly."""

from __future__ import annotations

import os

from copydicom_provider.dag_building.factory import replicate_dag

#: Overridable for deployments that want another cadence (cron, or ``30s``/``5m``); intervals stay real.
SCHEDULE = os.environ.get("COPYDICOM_REPLICATE_SCHEDULE", "@hourly")

dag = replicate_dag("copydicom_replicate", SCHEDULE, "Copy every DICOM instance the destination Orthanc lacks")
