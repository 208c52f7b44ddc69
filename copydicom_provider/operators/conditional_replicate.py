"""ConditionalReplicateOperator: copy what a Splunk search selects, optionally de-identified."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from airflow.sdk import Context
from airflow.sdk.log import mask_secret

from copydicom_provider.compat import AirflowFailException
from copydicom_provider.core.anonymize import AnonymizationProfile
from copydicom_provider.core.conditional import copy_selection
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.hooks.splunk import SplunkHook, SplunkSearchError
from copydicom_provider.conversions import as_bool, optional
from copydicom_provider.operators.replicate import ReplicateOperator


class ConditionalReplicateOperator(ReplicateOperator):
    """Copy the instances a Splunk search selects that the destination lacks.

    :param query: SPL: a bare filter (``SeriesDescription="Dose Record"``) is scoped to the index
        and reduced to the Orthanc ID fields that replicate-tags writes; full SPL starting with
        ``search`` or ``|`` runs as given and must return ``OrthancInstanceID``,
        ``OrthancSeriesID`` or ``OrthancStudyID``.
    :param earliest: / :param latest: the search window over Splunk's ``_time`` (replicate-tags sets
        it to the study date and time); none means all time.
    :param anonymize: send Orthanc's de-identified copies instead of the originals (rest mode).
    :param pseudonym_key: secret that keeps pseudonyms stable; default: the destination
        connection's extra ``pseudonym_key``.

    A query Splunk rejects fails the task with Splunk's message; a query selecting nothing is a
    green run that copies nothing; selected IDs the source no longer has are counted as vanished.
    """

    template_fields: Sequence[str] = (
        *ReplicateOperator.template_fields,
        "splunk_conn_id",
        "query",
        "earliest",
        "latest",
        "index",
        "anonymize",
        "pseudonym_key",
    )

    def __init__(
        self,
        *,
        query: str,
        splunk_conn_id: str = "splunk_default",
        earliest: datetime | str | None = None,
        latest: datetime | str | None = None,
        index: str | None = None,
        anonymize: bool | str = False,
        pseudonym_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.query = query
        self.splunk_conn_id = splunk_conn_id
        self.earliest = earliest
        self.latest = latest
        self.index = index
        self.anonymize = anonymize
        self.pseudonym_key = pseudonym_key

    def profile(self, destination: OrthancHook) -> AnonymizationProfile | None:
        if not as_bool(self.anonymize):
            return None
        key = optional(self.pseudonym_key) or destination.get_connection(self.destination_conn_id).extra_dejson.get(
            "pseudonym_key"
        )
        if not key:
            raise ValueError(
                "anonymize=True needs a pseudonym key: set the destination connection's extra "
                "'pseudonym_key' (or the operator's pseudonym_key)"
            )
        mask_secret(key)
        return AnonymizationProfile(key=key)

    def execute(self, context: Context) -> dict[str, Any]:
        destination = OrthancHook(self.destination_conn_id)
        try:
            summary = copy_selection(
                OrthancHook(self.source_conn_id),
                SplunkHook(self.splunk_conn_id),
                destination,
                self.query,
                earliest=optional(self.earliest),
                latest=optional(self.latest),
                index=optional(self.index),
                mode=self.mode,
                dry_run=as_bool(self.dry_run),
                verify=as_bool(self.verify),
                anonymize=self.profile(destination),
                progress_interval=self.progress_interval,
                logger=self.log,
            )
        except (SplunkSearchError, ValueError) as rejected:  # a bad query or setting stays bad: no retry
            raise AirflowFailException(str(rejected)) from None
        return self.finish(summary, context)
