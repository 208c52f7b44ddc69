"""Operator extra link: open what a task copied in the destination's Orthanc Explorer.

The page is the one study or series the task's candidates belong to (Orthanc IDs are the same on
both servers, so the source names them before the copy), else the explorer's home page: a batch
spanning several studies has no one page to show.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

from copydicom_provider.explorer import explorer_url
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook
from copydicom_provider.jobs.candidates import Candidates

#: XCom key under which a copy task leaves its Orthanc Explorer URL (no credentials in it).
EXPLORER_XCOM_KEY = "orthanc_explorer"
#: Beyond this many series in a batch, their study is not looked up: the link is the home page.
MAX_SERIES_LOOKED_UP = 100


def copied_resource(source: OrthancHook, candidates: Candidates) -> tuple[str, str] | None:
    """``("study", id)`` or ``("series", id)``: the one study or series the candidates lie in, else None.

    Loose instances (a received window) cost one ``/tools/bulk-content`` request for their series,
    and one more for the series' study when there are several; a failed look-up only loses the link.
    """
    if candidates.studies:
        one = len(candidates.studies) == 1 and not candidates.instances
        return ("study", candidates.studies[0]) if one else None
    if not candidates.instances:
        return None
    try:
        series = _parents(source, candidates.instances, "Instance", "ParentSeries")
        if len(series) == 1:
            return "series", series.pop()
        if not series or len(series) > MAX_SERIES_LOOKED_UP:
            return None
        studies = _parents(source, sorted(series), "Series", "ParentStudy")
    except OrthancError:
        return None
    return ("study", studies.pop()) if len(studies) == 1 else None


def _parents(source: OrthancHook, ids: list[str], level: str, parent: str) -> set[str]:
    reply = source.post_json("/tools/bulk-content", {"Resources": ids, "Level": level, "Metadata": False})
    return {item[parent] for item in reply if isinstance(item, dict) and isinstance(item.get(parent), str)}


def copied_url(destination: OrthancHook, source: OrthancHook, candidates: Candidates) -> str:
    """The explorer URL of what a copy task copies: its study or series on the destination, else the home page."""
    resource = copied_resource(source, candidates)
    if resource is None:
        return explorer_url(destination.url)
    level, resource_id = resource
    return explorer_url(destination.url, series_id=resource_id) if level == "series" else explorer_url(
        destination.url, resource_id)


class OrthancExplorerLink(BaseOperatorLink):
    """Shown on copy tasks: the study or series they copied, else the destination's explorer."""

    name = "Orthanc Explorer"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return XCom.get_value(ti_key=ti_key, key=EXPLORER_XCOM_KEY) or ""
