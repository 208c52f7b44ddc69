"""The threshold table, which row applies to which scan or exam, and the ledger that sends each alert once."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from copydicom_provider.alerts.check import find_alerts
from copydicom_provider.alerts.ledger import BadLedger, SentLedger
from copydicom_provider.alerts.message import compose_alert
from copydicom_provider.alerts.run import Undelivered, alert_step
from copydicom_provider.alerts.thresholds import (
    COLUMNS,
    ThresholdTableError,
    load_threshold_table,
    parse_threshold_table,
)
from copydicom_provider.reports.collect import DoseEvent

HEAD, CHEST = "SCT:69536005", "SCT:816094009"
BODY, HEAD_PHANTOM = "IEC Body Dosimetry Phantom", "IEC Head Dosimetry Phantom"
TABLE = load_threshold_table()


def ct(uid: str, study: str, ctdi: float, *, region: str = CHEST, age: float | None = 50.0, protocol: str = "Routine",
       phantom: str = BODY, **extra) -> DoseEvent:
    return DoseEvent(uid=uid, protocol=protocol, station="CT1", region="", region_code=region, study_uid=study,
                     when="2026-12-01T10:00:00", values={"CTDIvol": ctdi}, acquisition_type="Spiral Acquisition",
                     age_years=age, accession_number=f"ACC-{study}", orthanc_study_id=f"orthanc-{study}",
                     phantom=phantom, **extra)


def rules(events) -> dict[str, list[str]]:
    return {a.study_uid: sorted(e.threshold.rule for e in a.exceedances) for a in find_alerts(events, TABLE)}


def test_the_shipped_table_names_a_source_for_every_row_and_converts_units_to_the_records():
    by_rule = {t.rule: t for t in TABLE.thresholds}
    assert by_rule["ct_adult_head"].value == 80 and by_rule["ct_adult_torso"].value == 50
    assert by_rule["fluoro_reference_air_kerma"].value == 5000  # 5 Gy in the records' mGy
    assert by_rule["fluoro_dose_area_product"].value == pytest.approx(0.05)  # 500 Gy.cm2 in Gy.m2
    assert by_rule["fluoro_time"].value == 3600  # 60 min in s
    assert all(t.source for t in TABLE.thresholds)


def test_the_most_specific_row_applies_so_a_child_is_held_to_the_paediatric_value():
    events = [
        ct("a1", "adult-head", 79.0, region=HEAD, phantom=HEAD_PHANTOM),  # below 80: nothing
        ct("c1", "child-head", 55.0, region=HEAD, age=1.0, phantom=HEAD_PHANTOM),  # at least 50 (< 2 years)
        ct("c2", "child3-head", 55.0, region=HEAD, age=3.0, phantom=HEAD_PHANTOM),  # below 60 (2 to 5 years)
        ct("c3", "child-torso", 12.0, age=6.0),  # 32 cm phantom: 10 mGy
        ct("c4", "child7-head", 30.0, region=HEAD, age=7.0, phantom=HEAD_PHANTOM),  # a head is not a torso
        ct("p1", "perfusion", 500.0, region=HEAD, protocol="Brain Perfusion", phantom=HEAD_PHANTOM),  # below 600
        ct("u1", "unknown-age", 60.0, age=None),  # the adult torso value
    ]
    assert rules(events) == {"child-head": ["ct_paediatric_head_under_2"],
                             "child-torso": ["ct_paediatric_torso_under_10_32cm"],
                             "unknown-age": ["ct_adult_torso"]}


def test_an_exam_total_counts_every_scan_but_no_localizer_and_says_at_least_when_values_were_set_aside():
    scans = [ct(f"s{n}", "long", 45.0) for n in range(23)]  # 1035 mGy accumulated
    scout = ct("scout", "short", 900.0, protocol="Topogram")  # a localizer: never a scan's or an exam's value
    aside = [ct(f"t{n}", "partial", 49.0) for n in range(21)] + [ct("t-bad", "partial", 0.0, unusable=["CTDIvol"])]
    alerts = {a.study_uid: a for a in find_alerts([*scans, scout, *aside], TABLE)}
    assert [e.threshold.rule for e in alerts["long"].exceedances] == ["ct_accumulated"]
    assert "short" not in alerts
    partial = alerts["partial"].exceedances[0]
    assert partial.at_least and partial.value == pytest.approx(21 * 49.0)
    assert "at least" in compose_alert(alerts["partial"], [partial], None).text


def test_fluoroscopy_totals_reach_ncrp_168s_levels_by_study():
    def xa(uid: str, study: str, dap: float, rp: float, seconds: float) -> DoseEvent:
        return DoseEvent(uid=uid, protocol="Abdomen DSA", station="XA1", region="", region_code="", study_uid=study,
                         when="2026-12-01T10:00:00", values={"DoseAreaProduct": dap, "DoseRP": rp},
                         event_type="Fluoroscopy", duration_s=seconds, age_years=60.0)

    events = [xa(f"f{n}", "long-procedure", 0.004, 300.0, 200.0) for n in range(18)]  # 720 Gy.cm2, 5.4 Gy, 60 min
    events += [xa("g1", "short", 0.001, 10.0, 30.0)]
    alert = {a.study_uid: a for a in find_alerts(events, TABLE)}
    assert sorted(e.threshold.rule for e in alert["long-procedure"].exceedances) == [
        "fluoro_dose_area_product", "fluoro_reference_air_kerma", "fluoro_time"]
    assert "short" not in alert
    dap = next(e for e in alert["long-procedure"].exceedances if e.threshold.rule == "fluoro_dose_area_product")
    assert dap.shown == pytest.approx(720.0)  # shown in the table's Gy.cm2


def test_the_message_names_the_study_and_its_link_and_nothing_else_about_the_patient():
    event = ct("e1", "s1", 90.0, region=HEAD, phantom=HEAD_PHANTOM)
    (alert,) = find_alerts([event], TABLE)
    message = compose_alert(alert, alert.exceedances, "http://user:secret@127.0.0.1:8042")
    assert "ACC-s1" in message.subject and "CTDIvol 90 mGy >= 80 mGy" in message.subject
    link = "http://127.0.0.1:8042/app/explorer.html#study?uuid=orthanc-s1"
    assert link in message.text and f'href="{link}"' in message.html
    assert "secret" not in message.text + message.html and "AAPM" in message.text


@pytest.mark.parametrize(("cells", "complaint"), [
    ({"scope": "exam"}, "scope 'exam'"),
    ({"quantity": "KVP"}, "quantity 'KVP'"),
    ({"unit": "mGy.cm"}, "unit 'mGy.cm'"),
    ({"unit": ""}, "unit ''"),
    ({"threshold": "-1"}, "threshold"),
    ({"phantom": "small"}, "phantom 'small'"),
    ({"protocol_pattern": "("}, "regular expression"),
    ({"age_min_years": "10", "age_max_years": "2"}, "age_min_years must be below"),
    ({"source": ""}, "source column is empty"),
    ({"quantity": "FluoroscopyTime", "unit": "s"}, "scope must be 'study'"),
])
def test_a_bad_row_is_refused_naming_its_line_and_what_is_wrong(cells, complaint):
    row = {"rule": "r", "scope": "event", "quantity": "CTDIvol", "threshold": "50", "unit": "mGy",
           "source": "site"} | cells
    text = ",".join(COLUMNS) + "\n" + ",".join(row.get(c, "") for c in COLUMNS) + "\n"
    with pytest.raises(ThresholdTableError, match="line 2") as error:
        parse_threshold_table(text, "mine.csv")
    assert complaint in str(error.value)


def test_a_rule_named_twice_is_refused():
    row = "r,event,CTDIvol,50,mGy,,,,,,x,site\n"
    with pytest.raises(ThresholdTableError, match="named twice"):
        parse_threshold_table(",".join(COLUMNS) + "\n" + row + row, "mine.csv")


class Index:
    """A searcher over fixed rows (the index's answer): enough for the run's logic; the DAG test uses the stand-in."""

    def __init__(self, rows):
        self.rows = rows
        self.queries = []

    def search(self, query, earliest_time=None, latest_time=None):
        self.queries.append((query, earliest_time, latest_time))
        return iter(self.rows if "irradiation_event" in query else [])


def row(uid: str, study: str, ctdi: float) -> dict:
    return {"RecordType": "irradiation_event", "IrradiationEventUID": uid, "StudyInstanceUID": study,
            "AcquisitionProtocol": "Routine", "StudyDateTime": "2026-12-01T10:00:00", "CTDIvol": str(ctdi),
            "CTDIvol_unit": "mGy", "PatientAgeYears": "50", "AccessionNumber": f"ACC-{study}"}


def test_each_alert_is_sent_once_across_runs_and_a_new_exceedance_of_the_same_study_is_sent_alone():
    now = datetime(2026, 12, 2, tzinfo=timezone.utc)
    index = Index([row("e1", "s1", 60.0), row("e2", "s2", 10.0)])
    ledger, sent, saved = SentLedger(), [], []

    def run():
        return alert_step(index, "dicom", now, 7, TABLE, ledger, sent.append, lambda led: saved.append(led.as_dict()))

    first = run()
    assert first["messages_sent"] == 1 and len(sent) == 1 and "ACC-s1" in sent[0].subject
    assert run()["messages_sent"] == 0 and len(sent) == 1  # the rerun tells nobody again
    index.rows.append(row("e3", "s1", 70.0))  # a second scan of s1 reaches the value later
    third = run()
    assert third["messages_sent"] == 1 and third["already_sent"] == 1 and "and" not in sent[1].subject
    assert saved[-1] == {"sent": {"ct_adult_torso|e1": "2026-12-01T10:00:00", "ct_adult_torso|e3":
                                  "2026-12-01T10:00:00"}}
    assert index.queries[0][1] == datetime(2026, 11, 25, tzinfo=timezone.utc)


def test_alerts_with_nobody_to_tell_fail_and_mark_nothing():
    ledger = SentLedger()
    with pytest.raises(Undelivered, match="copydicom_dose_alerts_notify"):
        alert_step(Index([row("e1", "s1", 60.0)]), "dicom", datetime(2026, 12, 2, tzinfo=timezone.utc), 7, TABLE,
                   ledger, None, lambda led: None)
    assert ledger.sent == {}


def test_a_failed_delivery_marks_nothing_for_that_study():
    ledger = SentLedger()

    def refuse(message):
        raise ConnectionRefusedError("smtp down")

    with pytest.raises(ConnectionRefusedError):
        alert_step(Index([row("e1", "s1", 60.0)]), "dicom", datetime(2026, 12, 2, tzinfo=timezone.utc), 7, TABLE,
                   ledger, refuse, lambda led: None)
    assert ledger.sent == {}


def test_the_ledger_forgets_studies_older_than_the_window_and_refuses_what_is_not_a_ledger():
    ledger = SentLedger.load('{"sent": {"r|old": "2026-01-01T10:00:00", "r|new": "2026-12-01T09:00:00"}}')
    assert ledger.prune("2026-11-24") == 1 and list(ledger.sent) == ["r|new"]
    with pytest.raises(BadLedger, match="copydicom_dose_alerts_sent"):
        SentLedger.load("[1, 2]")


def test_a_childs_torso_scan_without_a_recorded_phantom_is_held_to_the_lower_paediatric_value():
    (alert,) = find_alerts([ct("n1", "no-phantom", 12.0, age=6.0, phantom="")], TABLE)
    assert [e.threshold.rule for e in alert.exceedances] == ["ct_paediatric_torso_under_10_32cm"]
    assert find_alerts([ct("n2", "adult-no-phantom", 49.0, phantom="")], TABLE) == []  # adults: the torso value


def test_a_value_that_cannot_be_compared_is_counted_and_named(capsys):
    unitless = row("e1", "s1", 500.0) | {"CTDIvol_unit": "1"}  # a CTDIvol in UCUM's "no unit"
    counts = alert_step(Index([unitless]), "dicom", datetime(2026, 12, 2, tzinfo=timezone.utc), 7, TABLE,
                        SentLedger(), lambda message: None, lambda led: None)
    assert counts["messages_sent"] == 0 and counts["values_set_aside"] == {"CTDIvol": 1}
    assert "could not be compared" in capsys.readouterr().out
