"""Airflow Assets shared by the DAGs: a producer's outlet and a consumer's schedule must match."""

from airflow.sdk import Asset

#: Updated by every successful copydicom_replicate_tags run; its event's extra holds the counts.
SPLUNK_TAGS = Asset("copydicom://splunk/tags")


def source_changes(orthanc_conn_id: str, poll_interval: float = 2.0) -> Asset:
    """An asset updated whenever the Orthanc of ``orthanc_conn_id`` logs new instances (watched by the triggerer).

    The monitor DAG is scheduled on it (beside a time schedule, for when no triggerer runs).
    """
    from airflow.sdk import AssetWatcher

    from copydicom_provider.triggers.orthanc_changes import OrthancChangesTrigger

    return Asset(
        uri=f"copydicom://orthanc/{orthanc_conn_id}/changes", name=f"copydicom_orthanc_changes_{orthanc_conn_id}",
        watchers=[AssetWatcher(name=f"copydicom_watch_{orthanc_conn_id}",
                               trigger=OrthancChangesTrigger(orthanc_conn_id, poll_interval))],
    )
