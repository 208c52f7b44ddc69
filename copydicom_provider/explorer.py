"""Orthanc Explorer's URLs: one study's or series' page, for task links and the dose report's outliers.

Plain (no Airflow), so the report and the CLI build the same links the operators do. A URL given
with credentials in it is shown without them: the links end up in files and task pages.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["explorer_url", "without_credentials"]


def without_credentials(base_url: str) -> str:
    """``base_url`` with any ``user:password@`` removed."""
    parts = urlsplit(base_url)
    if "@" not in parts.netloc:
        return base_url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def explorer_url(base_url: str, study_id: str | None = None, *, series_id: str | None = None) -> str:
    """Orthanc Explorer's page of one series, or of one study, or its home page."""
    page = f"{without_credentials(base_url).rstrip('/')}/app/explorer.html"
    if series_id:
        return f"{page}#series?uuid={series_id}"
    return f"{page}#study?uuid={study_id}" if study_id else page
