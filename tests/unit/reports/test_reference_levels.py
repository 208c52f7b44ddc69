"""reports.reference_levels: reading and checking the table, and which row applies."""

from __future__ import annotations

import re

import pytest

from copydicom_provider.reports.fields import QUANTITY_BY_KEY
from copydicom_provider.reports.reference_levels import (
    COLUMNS,
    ReferenceLevel,
    ReferenceTable,
    ReferenceTableError,
    load_reference_table,
    parse_reference_table,
)

HEADER = ",".join(COLUMNS)
GOOD_ROW = ",Head,SCT:69536005,CTDIvol,47,mGy,Head,NDRL 2024"


def table(*rows: str) -> str:
    return "\n".join((HEADER, *rows)) + "\n"


def level(protocol: str = "", code: str = "", quantity: str = "CTDIvol", value: float = 10.0) -> ReferenceLevel:
    return ReferenceLevel(protocol, "", code, quantity, value, QUANTITY_BY_KEY[quantity].unit, "", "src")


def test_a_good_row_is_read():
    parsed = parse_reference_table(table(GOOD_ROW, "Routine chest, ,  ,DLP,350, mGy.cm ,Chest,NDRL"), "t.csv")
    assert parsed.origin == "t.csv"
    assert parsed.levels == [
        ReferenceLevel("", "Head", "SCT:69536005", "CTDIvol", 47.0, "mGy", "Head", "NDRL 2024"),
        ReferenceLevel("Routine chest", "", "", "DLP", 350.0, "mGy.cm", "Chest", "NDRL"),
    ]


def test_the_packaged_table_is_valid():
    packaged = load_reference_table(None)
    assert packaged.origin == "packaged dose_reference_levels.csv"
    assert packaged.levels
    assert all(lvl.unit == QUANTITY_BY_KEY[lvl.quantity].unit and lvl.source for lvl in packaged.levels)
    assert load_reference_table("").levels == packaged.levels


def test_a_file_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "levels.csv"
    path.write_text(table(GOOD_ROW), encoding="utf-8-sig")
    loaded = load_reference_table(path)
    assert loaded.origin == str(path) and loaded.levels[0].national_level == 47.0


def test_a_missing_file_is_named(tmp_path):
    path = tmp_path / "absent.csv"
    with pytest.raises(ReferenceTableError, match=f"reference-level table {path} cannot be read: No such file"):
        load_reference_table(str(path))


def test_missing_columns_are_named():
    expected = re.escape("t.csv lacks column(s) examination, source; expected protocol,")
    with pytest.raises(ReferenceTableError, match=expected):
        parse_reference_table("protocol,body_region,body_region_code,quantity,national_level,unit\n", "t.csv")


@pytest.mark.parametrize(("row", "message"), [
    ("CT head,Head,SCT:69536005,CTDIvol,47,mGy,Head,src", "name either a protocol or a body_region_code"),
    (",Head,,CTDIvol,47,mGy,Head,src", "name either a protocol or a body_region_code"),
    (",Head,SCT:69536005,CTDI,47,mGy,Head,src", "quantity 'CTDI' is not one of CTDIvol, DLP, DoseAreaProduct"),
    (",Head,SCT:69536005,DLP,470,mGy,Head,src", "unit 'mGy' for DLP; the records carry mGy.cm"),
    (",Head,SCT:69536005,CTDIvol,high,mGy,Head,src", "national_level 'high' is not a number"),
    (",Head,SCT:69536005,CTDIvol,0,mGy,Head,src", "national_level must be a positive finite number, not 0"),
    (",Head,SCT:69536005,CTDIvol,-1,mGy,Head,src", "national_level must be a positive finite number, not -1"),
    (",Head,SCT:69536005,CTDIvol,nan,mGy,Head,src", "national_level must be a positive finite number, not nan"),
    # an infinite level would never flag anything
    (",Head,SCT:69536005,CTDIvol,inf,mGy,Head,src", "national_level must be a positive finite number, not inf"),
    (",Head,SCT:69536005,CTDIvol,47,mGy,Head,", "the source column is empty"),
])
def test_a_bad_row_is_refused_with_its_line(row, message):
    with pytest.raises(ReferenceTableError, match=message) as caught:
        parse_reference_table(table(GOOD_ROW, row), "t.csv")
    assert str(caught.value).startswith("reference-level table t.csv, line 3: ")


def test_a_protocol_row_wins_over_a_region_row_listed_before_it():
    region, own = level(code="SCT:1", value=10), level(protocol="Head routine", value=20)
    levels = ReferenceTable([region, level(code="SCT:1", value=30), own], "t")
    assert levels.level_for("Head routine", "SCT:1", "CTDIvol") is own
    assert levels.level_for("Other", "SCT:1", "CTDIvol") is region  # the first region row
    assert levels.level_for("Other", "SCT:2", "CTDIvol") is None
    assert levels.level_for("Head routine", "SCT:1", "DLP") is None


def test_an_empty_region_code_matches_no_region_row():
    assert ReferenceTable([level(protocol="P")], "t").level_for("Q", "", "CTDIvol") is None
