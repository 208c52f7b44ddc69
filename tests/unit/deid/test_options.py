"""A de-identification profile's options: the key it needs, its defaults, and the keyed values it gives."""

from __future__ import annotations

import dataclasses

import pytest

from copydicom_provider.deid.keying import keyed_pseudonym, keyed_shift_days, keyed_uid
from copydicom_provider.deid.options import DeidOptions


@pytest.mark.parametrize("key", ["", None])
def test_options_need_a_key(key):
    with pytest.raises(ValueError, match="anonymize needs a pseudonym key"):
        DeidOptions(key=key)


def test_the_key_is_required_by_name():
    with pytest.raises(TypeError):
        DeidOptions()  # type: ignore[call-arg]


def test_the_defaults_are_the_strict_profile():
    options = DeidOptions(key="k")
    assert (options.shift_dates, options.clean_structured_content) == (True, True)
    assert (options.retain_device_identity, options.retain_patient_characteristics, options.allow_burned_in) == (
        False, False, False)
    assert options.keep == ()
    assert options.keep_text_concepts == ("121014", "121015", "113832")  # manufacturer, model, X-ray source


def test_the_key_is_kept_out_of_the_repr():
    assert "s3cret-key" not in repr(DeidOptions(key="s3cret-key", keep=("SeriesDescription",)))
    assert "SeriesDescription" in repr(DeidOptions(key="s3cret-key", keep=("SeriesDescription",)))


def test_options_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DeidOptions(key="k").shift_dates = False  # type: ignore[misc]


def test_the_keyed_values_are_those_of_the_options_key():
    options = DeidOptions(key="k")
    assert options.pseudonym("MRN-1") == keyed_pseudonym("k", "MRN-1") != DeidOptions(key="j").pseudonym("MRN-1")
    assert options.uid("1.2.3") == keyed_uid("k", "1.2.3") != DeidOptions(key="j").uid("1.2.3")
    assert options.date_shift_days("MRN-1") == keyed_shift_days("k", "MRN-1")


def test_the_keyed_values_do_not_depend_on_the_other_options():
    strict, lenient = DeidOptions(key="k"), DeidOptions(key="k", shift_dates=False, allow_burned_in=True)
    assert (strict.pseudonym("p"), strict.uid("1.2"), strict.date_shift_days("p")) == (
        lenient.pseudonym("p"), lenient.uid("1.2"), lenient.date_shift_days("p"))
