"""Typed values from the strings connections and rendered templates deliver."""

from __future__ import annotations

import pytest

from copydicom_provider.conversions import as_bool, as_number, optional


@pytest.mark.parametrize("value", [True, "1", "true", "True", " YES ", "on", 1])
def test_as_bool_true(value):
    assert as_bool(value) is True
    assert as_bool(value, default=False) is True


@pytest.mark.parametrize("value", [False, "0", "false", "no", "off", "maybe", 0, "None"])
def test_as_bool_false_whatever_the_default(value):
    assert as_bool(value, default=True) is False


@pytest.mark.parametrize("value", [None, ""])
@pytest.mark.parametrize("default", [False, True])
def test_as_bool_unset_gives_the_default(value, default):
    assert as_bool(value, default) is default


@pytest.mark.parametrize(("value", "number"), [("2.5", 2.5), (" 3 ", 3.0), (4, 4.0), ("1e3", 1000.0), (0, 0.0)])
def test_as_number(value, number):
    assert as_number(value, default=7.0) == number


@pytest.mark.parametrize("value", [None, ""])
def test_as_number_unset_gives_the_default(value):
    assert as_number(value, default=7.5) == 7.5


def test_as_number_refuses_what_is_no_number():
    with pytest.raises(ValueError, match="could not convert"):
        as_number("ten", default=1.0)


@pytest.mark.parametrize("value", [None, "", "None"])
def test_optional_unset(value):
    assert optional(value) is None


@pytest.mark.parametrize("value", ["x", "none", 0, False, [], "0"])
def test_optional_keeps_set_values(value):
    assert optional(value) is value
