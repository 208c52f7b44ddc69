"""Airflow DAG ``copydicom_replicate``: keep a destination Orthanc in sync with a source Orthanc, hourly."""

from __future__ import annotations

from copydicom_provider import config
from copydicom_provider.dag_building.factory import replicate_dag

#: Overridable for deployments that want another cadence (cron, or ``30s``/``5m``); intervals stay real.
SCHEDULE = config.REPLICATE_SCHEDULE.value()

dag = replicate_dag("copydicom_replicate", SCHEDULE, "Copy every DICOM instance the destination Orthanc lacks")
