"""Operator extra link: open what a task copied in the destination's Orthanc Explorer."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

#: XCom key under which a copy task leaves its Orthanc Explorer URL (no credentials in it).
EXPLORER_XCOM_KEY = "orthanc_explorer"


def explorer_url(base_url: str, study_id: str | None = None) -> str:
    """Orthanc Explorer's page of one study, or its home page."""
    page = f"{base_url.rstrip('/')}/app/explorer.html"
    return f"{page}#study?uuid={study_id}" if study_id else page


class OrthancExplorerLink(BaseOperatorLink):
    """Shown on copy tasks: the study they copied (a one-study batch) or the destination's explorer."""

    name = "Orthanc Explorer"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return XCom.get_value(ti_key=ti_key, key=EXPLORER_XCOM_KEY) or ""
