"""reports.fields: the record field names the reports ask for, and the quantities' units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from copydicom_provider.records.concepts import CONCEPT_KEYS
from copydicom_provider.records.units import key_unit
from copydicom_provider.reports.fields import EVENT_FIELDS, INSTANCE_FIELDS, QUANTITIES, QUANTITY_BY_KEY, Quantity


def test_unit_and_list_keys():
    quantity = Quantity("CTDIvol", "CTDIvol", "mGy", "CT")
    assert (quantity.unit_key, quantity.list_key) == ("CTDIvol_unit", "CTDIvol{}")


def test_quantities_by_key_in_display_order():
    assert list(QUANTITY_BY_KEY) == [q.key for q in QUANTITIES]
    assert list(QUANTITY_BY_KEY) == ["CTDIvol", "DLP", "DoseAreaProduct", "DoseRP", "AverageGlandularDose", "SSDE",
                                     "WaterEquivalentDiameter"]
    assert [q.key for q in QUANTITIES if not q.dose] == ["WaterEquivalentDiameter"]  # a size, not a dose


@pytest.mark.parametrize("quantity", QUANTITIES, ids=lambda q: q.key)
def test_each_quantity_is_a_record_key_in_the_unit_the_records_carry(quantity):
    assert quantity.key in CONCEPT_KEYS.values()
    assert key_unit(quantity.key, quantity.unit) == (quantity.unit, Decimal(1))


@pytest.mark.parametrize("quantity", QUANTITIES, ids=lambda q: q.key)
def test_each_display_unit_is_the_records_unit_scaled_by_the_display_factor(quantity):
    # the records' own conversion from the display unit must undo the display factor exactly
    unit, factor = key_unit(quantity.key, quantity.shown_unit)
    assert unit == quantity.unit and float(factor) * quantity.display_factor == pytest.approx(1.0)


def test_dap_is_shown_in_gy_cm2_the_diameter_in_cm_and_the_others_as_recorded():
    dap = QUANTITY_BY_KEY["DoseAreaProduct"]
    assert (dap.unit, dap.shown_unit, dap.shown(0.0002)) == ("Gy.m2", "Gy.cm2", pytest.approx(2.0))
    wed = QUANTITY_BY_KEY["WaterEquivalentDiameter"]
    assert (wed.unit, wed.shown_unit, wed.shown(285.0)) == ("mm", "cm", pytest.approx(28.5))
    assert [q.key for q in QUANTITIES if q.shown_unit != q.unit] == ["DoseAreaProduct", "WaterEquivalentDiameter"]


def test_event_fields_ask_for_each_quantity_its_unit_and_its_list_form_once():
    assert len(EVENT_FIELDS) == len(set(EVENT_FIELDS))
    for quantity in QUANTITIES:
        assert {quantity.key, quantity.unit_key, quantity.list_key} <= set(EVENT_FIELDS)
    assert {"IrradiationEventUID", "RecordKey", "AcquisitionProtocol", "StudyDateTime"} <= set(EVENT_FIELDS)


def test_instance_fields_are_dicom_keywords():
    assert INSTANCE_FIELDS == ("StudyInstanceUID", "Modality", "StudyDate")
