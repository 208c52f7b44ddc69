"""Airflow Assets shared by the DAGs: a producer's outlet and a consumer's schedule must match."""

from airflow.sdk import Asset

#: Updated by every successful copydicom_replicate_tags run; its event's extra holds the counts.
SPLUNK_TAGS = Asset("copydicom://splunk/tags")
