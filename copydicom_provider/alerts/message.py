"""One study's alert: what reached which value, and how to find the exam (accession number, Orthanc link).

Why no patient name or ID: the reader finds the exam by its accession number or the link; the mail
carries nothing more about the patient than that and the age the value depended on.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from copydicom_provider.alerts.check import Exceedance, StudyAlert
from copydicom_provider.explorer import explorer_url
from copydicom_provider.notifications.message import Message


def reached(exceedance: Exceedance) -> str:
    """``CTDIvol 92 mGy >= 80 mGy``: the value against its threshold, in the table's unit."""
    t = exceedance.threshold
    bound = "at least " if exceedance.at_least else ""
    return f"{t.quantity} {bound}{exceedance.shown:.4g} {t.unit} >= {t.shown_value:g} {t.unit}"


def describe(exceedance: Exceedance) -> str:
    t = exceedance.threshold
    what = f"scan {exceedance.protocol!r}" if exceedance.event_uid else "exam total"
    return f"{reached(exceedance)} ({t.examination}; {what}; rule {t.rule})"


def compose_alert(alert: StudyAlert, new: Sequence[Exceedance], link_base: str | None) -> Message:
    """The message for ``new``, the exceedances of ``alert`` not told before."""
    study = alert.accession_number or alert.orthanc_study_id or alert.study_uid
    more = f" and {len(new) - 1} more" if len(new) > 1 else ""
    subject = f"Dose alert, accession {study}: {reached(new[0])}{more}"
    link = explorer_url(link_base, alert.orthanc_study_id) if link_base and alert.orthanc_study_id else ""
    age = "unknown (adult values apply)" if alert.age_years is None else f"{alert.age_years:g} years"
    facts = [("Accession number", alert.accession_number or "(none)"), ("Study date/time", alert.study_datetime),
             ("Station", alert.stations), ("Patient age", age), ("Study Instance UID", alert.study_uid),
             ("Orthanc study", link or alert.orthanc_study_id or "(not known)")]
    lines = [f"{name}: {value}" for name, value in facts]
    lines += ["", "Reached:"] + [f"- {describe(e)}. Source: {e.threshold.source}" for e in new]
    cells = "".join(f"<tr><th>{html.escape(n)}</th><td>{_cell(v, link)}</td></tr>" for n, v in facts)
    rows = "".join(f"<li>{html.escape(describe(e))}<br><small>{html.escape(e.threshold.source)}</small></li>"
                   for e in new)
    page = f"<h3>{html.escape(subject)}</h3><table>{cells}</table><p>Reached:</p><ul>{rows}</ul>"
    return Message(subject=subject, text="\n".join(lines), html=page)


def _cell(value: str, link: str) -> str:
    if link and value == link:
        return f'<a href="{html.escape(link)}">{html.escape(link)}</a>'
    return html.escape(value)
