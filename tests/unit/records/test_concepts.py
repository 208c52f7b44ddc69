"""Concept keys: by code not meaning, the table documented in docs/dose-records.md, unknown codes camel-cased."""

from __future__ import annotations

import re
from pathlib import Path

from pydicom.sr.coding import Code

from copydicom_provider.records import concepts as dose_concepts
from copydicom_provider.records.concepts import CONCEPT_KEYS, concept_key
from copydicom_provider.testing.dose_sr import UNIT_MGY, num_item, text_item
from tests.support.sr_trees import UCUM, ct_event, events_of, report

REPO = Path(__file__).resolve().parents[3]


def test_unknown_codes_fall_back_to_camel_case_and_never_shadow_header_keys():
    ds = report([ct_event(
        num_item(Code("X1", "99ACME", "Bolus tracking delay (s)"), "12", UCUM("s")),
        text_item(Code("X2", "99ACME", "Station Name"), "private station"),
        text_item(Code("X3", "99ACME", ""), "nameless"),
        text_item(Code("X4", "99ACME", "3D recon"), "yes"),
        num_item(Code("X5", "99ACME", "Event Count"), "7", UCUM("{events}")),
    )])
    event = events_of(ds)[0]
    assert event["BolusTrackingDelayS"] == 12 and event["BolusTrackingDelayS_unit"] == "s"
    assert event["StationName"] == "CT1" and event["SRStationName"] == "private station"
    assert event["Code99ACMEX3"] == "nameless"
    assert event["N3DRecon"] == "yes"
    assert event["SREventCount"] == 7 and "EventCount" not in event  # the flattener's own key


def test_keys_match_by_code_not_meaning():
    misspelt = num_item(Code("113830", "DCM", "Mean CTDI vol (vendor spelling)"), "7", UNIT_MGY)
    assert events_of(report([ct_event(misspelt)]))[0]["CTDIvol"] == 7
    assert concept_key("DCM", "113734", "wrong meaning") == "TubeCurrent"


def test_issue_keys_are_in_the_table():
    expected = {"113830": "CTDIvol", "113838": "DLP", "113813": "DLPTotal",
                "113812": "NumberOfEvents", "125203": "AcquisitionProtocol",
                "123014": "TargetRegion", "113820": "AcquisitionType", "113835": "PhantomType",
                "113769": "IrradiationEventUID", "113733": "KVP", "113734": "TubeCurrent"}
    assert {code: CONCEPT_KEYS[("DCM", code)] for code in expected} == expected
    assert not set(CONCEPT_KEYS.values()) & dose_concepts.RESERVED_KEYS


def test_docs_table_matches_the_code_table():
    text = (REPO / "docs" / "dose-records.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w+) \| ([\w-]+) \| [^|]* \| `(\w+)` \|$", text, flags=re.M)
    assert {(s, c): k for s, c, k in rows} == CONCEPT_KEYS
    assert len(rows) == len(CONCEPT_KEYS)
