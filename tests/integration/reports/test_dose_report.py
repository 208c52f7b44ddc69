"""The dose report's parts: percentiles, the reference-level table, quarters, and streaming from the stand-in."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import numpy as np
import pytest

from copydicom_provider.hooks.splunk import SplunkHook
from copydicom_provider.reports.collect import DoseEvent, check_index, collect
from copydicom_provider.reports.period import previous_quarter, quarter_bounds, resolve_period
from copydicom_provider.reports.reference_levels import (
    COLUMNS,
    ReferenceTableError,
    load_reference_table,
    parse_reference_table,
)
from copydicom_provider.reports.statistics import Distribution, outliers, percentile, reference_comparison
from copydicom_provider.testing.splunk import SplunkTestServer

UTC = timezone.utc
HEADER = ",".join(COLUMNS) + "\n"


def test_percentiles_match_numpys_linear_interpolation():
    rng = random.Random(5)
    for size in (1, 2, 3, 4, 7, 10, 101):
        values = sorted(rng.uniform(0, 100) for _ in range(size))
        for q in (0, 25, 50, 75, 100):
            assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    d = Distribution.of([4.0, 1.0, 3.0, 2.0])
    assert (d.count, d.mean, d.median, d.p75, d.max) == (4, 2.5, 2.5, 3.25, 4.0)
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_the_packaged_table_loads_and_a_protocol_row_wins_over_its_region():
    packaged = load_reference_table(None)
    chest = packaged.level_for("Thorax Routine", "SCT:816094009", "CTDIvol")
    assert chest is not None and chest.national_level == 8.5 and "Open Government Licence" in chest.source
    assert packaged.level_for("Thorax Routine", "SCT:816094009", "DLP") is None  # no per-event DLP level shipped
    table = parse_reference_table(HEADER + ",Chest,SCT:816094009,CTDIvol,8.5,mGy,Chest,National\n"
                                  "Thorax Routine,,,CTDIvol,6,mGy,,Local DRL 2025\n", "test")
    assert table.level_for("Thorax Routine", "SCT:816094009", "CTDIvol").national_level == 6
    assert table.level_for("Thorax Low Dose", "SCT:816094009", "CTDIvol").national_level == 8.5
    assert table.level_for("Thorax Low Dose", "", "CTDIvol") is None


@pytest.mark.parametrize(("rows", "message"), [
    ("Thorax,,SCT:816094009,CTDIvol,8,mGy,,src\n", "line 2: name either a protocol or a body_region_code"),
    (",,,CTDIvol,8,mGy,,src\n", "line 2: name either a protocol or a body_region_code"),
    ("Thorax,,,CTDI,8,mGy,,src\n", "line 2: quantity 'CTDI' is not one of"),
    ("Thorax,,,DLP,800,mGy,,src\n", "line 2: unit 'mGy' for DLP; the records carry mGy.cm"),
    ("Thorax,,,CTDIvol,eight,mGy,,src\n", "line 2: national_level 'eight' is not a number"),
    ("Thorax,,,CTDIvol,-1,mGy,,src\n", "line 2: national_level must be a positive finite number"),
    ("Thorax,,,CTDIvol,8,mGy,,\n", "line 2: the source column is empty"),
])
def test_a_bad_reference_table_is_refused_naming_the_line(rows, message):
    with pytest.raises(
        ReferenceTableError, match="reference-level table levels.csv, " + message.split(":")[0]
    ) as error:
        parse_reference_table(HEADER + rows, "levels.csv")
    assert message in str(error.value)


def test_a_missing_column_or_file_is_named(tmp_path):
    with pytest.raises(ReferenceTableError, match="lacks column"):
        parse_reference_table("protocol,quantity\n", "x.csv")
    with pytest.raises(ReferenceTableError, match=r"nowhere\.csv cannot be read"):
        load_reference_table(tmp_path / "nowhere.csv")


def test_quarters():
    assert quarter_bounds("2025-Q4") == (datetime(2025, 10, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    assert previous_quarter(datetime(2026, 1, 1, tzinfo=UTC)) == "2025-Q4"
    assert previous_quarter(datetime(2026, 3, 31, 23, tzinfo=UTC)) == "2025-Q4"
    assert previous_quarter(datetime(2026, 4, 1, tzinfo=UTC)) == "2026-Q1"
    with pytest.raises(ValueError, match="YYYY-Qn"):
        quarter_bounds("2025-Q5")
    label, start, end = resolve_period(None, datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 8, tzinfo=UTC))
    assert label == "2025-03-01T0000_2025-03-08T0000" and (start.day, end.day) == (1, 8)
    assert resolve_period("2024q2", datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))[0] == "2024-Q2"


def test_an_index_name_cannot_change_the_search():
    assert check_index("dicom-2025") == "dicom-2025"
    for bad in ("dicom OR index=*", "dicom | delete", "", "*"):
        with pytest.raises(ValueError, match="not a Splunk index name"):
            check_index(bad)


def test_collect_streams_each_event_once_and_sets_aside_unusable_values():
    def event(uid, protocol, ctdi, unit="mGy", **extra):
        return {"RecordType": "irradiation_event", "RecordKey": f"k-{uid}-{extra.get('copy', 0)}",
                "IrradiationEventUID": uid, "AcquisitionProtocol": protocol, "StationName": "CT1",
                "StudyInstanceUID": f"study-{uid}", "StudyDateTime": "2025-02-03T10:00:00",
                "CTDIvol": ctdi, "CTDIvol_unit": unit, "DLP": 100.0, "DLP_unit": "mGy.cm", **extra}

    stamp = datetime(2025, 2, 3, 10, tzinfo=UTC).timestamp()
    with SplunkTestServer() as server:
        records = [
            event("1.1", "Thorax", 10.0),
            event("1.1", "Thorax", 10.0, copy=1),  # resent
            event("1.2", "Thorax", 12.0, unit="Gy"),  # a unit the report does not expect
            event("1.3", "Thorax", [5.0, 6.0]),  # several values where one is expected
            {
                k: v for k, v in event("", "Head", 40.0).items() if k not in ("IrradiationEventUID", "CTDIvol_unit")
            },  # no UID, no unit
            {"RecordType": "instance", "StudyInstanceUID": "s1", "Modality": "CT", "StudyDate": "20250203"},
            {"RecordType": "instance", "StudyInstanceUID": "s1", "Modality": "CT", "StudyDate": "20250203"},
            {"RecordType": "instance", "StudyInstanceUID": "s2", "Modality": "MR", "StudyDate": "20250203"},
        ]
        for record in records:
            server.add_event(record, time_=stamp, index="dicom")
        server.add_event(
            event("9.9", "Thorax", 99.0), time_=datetime(2025, 4, 2, tzinfo=UTC).timestamp(), index="dicom"
        )
        hook = SplunkHook.from_url(server.url(index="dicom"))
        got = collect(hook, "dicom", datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
    assert got.duplicates == 1 and len(got.events) == 4
    by_uid = {e.uid: e for e in got.events}
    assert by_uid["1.1"].values == {"CTDIvol": 10.0, "DLP": 100.0}
    assert by_uid["1.2"].values == {"DLP": 100.0} and by_uid["1.3"].values == {"DLP": 100.0}
    assert got.unusable == {"CTDIvol": 2}
    assert by_uid["k--0"].protocol == "Head"  # kept, keyed by its RecordKey
    assert by_uid["k--0"].values["CTDIvol"] == 40.0  # a key without a unit field has the key's one unit
    assert "9.9" not in by_uid  # after the period
    assert got.instances == 3 and {k: len(v) for k, v in got.studies.items()} == {
        ("2025-02-03", "CT"): 1,
        ("2025-02-03", "MR"): 1,
    }


def test_outliers_and_the_reference_comparison():
    table = parse_reference_table(HEADER + ",Chest,SCT:816094009,CTDIvol,8.5,mGy,Chest,National\n", "t")
    events = [DoseEvent(str(n), "Thorax", "CT1", "Chest", "SCT:816094009", f"s{n}", "2025-01-05T10:00:00",
                        {"CTDIvol": value}) for n, value in enumerate([5.0, 6.0, 7.0, 9.0, 30.0])]
    rows = reference_comparison(events, table)
    assert rows == [{"protocol": "Thorax", "target_region": "Chest", "target_region_code": "SCT:816094009",
                     "quantity": "CTDIvol", "unit": "mGy", "count": 5, "local_level": 7.0, "national_level": 8.5,
                     "ratio": 7.0 / 8.5, "exceeds": False, "matched_by": "body_region_code", "examination": "Chest",
                     "source": "National"}]
    found = {r["value"]: r["reason"] for r in outliers(events, table, factor=2.0)}
    assert found == {30.0: "above reference level; above 2 x protocol median", 9.0: "above reference level"}
