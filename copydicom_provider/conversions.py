"""Typed values from what connections and templates deliver: URI extras and rendered templates are strings."""

from __future__ import annotations

from typing import Any

TRUE_WORDS = {"1", "true", "yes", "on"}


def as_bool(value: Any, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUE_WORDS


def as_number(value: Any, default: float) -> float:
    if value is None or value == "":
        return default
    return float(value)


def optional(value: Any) -> Any:
    """None for an unset templated value, which renders as ``None``, ``"None"`` or ``""``."""
    return None if value in (None, "", "None") else value
