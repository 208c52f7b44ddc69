"""config.py: every setting documented, read when asked (not at import)."""

from __future__ import annotations

from pathlib import Path

import pytest

from copydicom_provider import config

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_doc_lists_every_setting_as_the_module_defines_it() -> None:
    assert config.markdown_table() in DOC.read_text(encoding="utf-8")


def test_names_are_unique_and_prefixed() -> None:
    names = [setting.name for setting in config.SETTINGS]
    assert len(names) == len(set(names))
    assert all(name.startswith("COPYDICOM_") for name in names)


def test_values_are_read_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COPYDICOM_RETRIES", raising=False)
    assert config.task_retries() == 3
    monkeypatch.setenv("COPYDICOM_RETRIES", "0")
    assert config.task_retries() == 0
    monkeypatch.setenv("COPYDICOM_POOL", "archives")
    assert config.orthanc_pool() == "archives"


def test_a_setting_without_default_is_none_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COPYDICOM_RECORD_PROCESSES", raising=False)
    assert config.RECORD_PROCESSES.raw() is None and config.RECORD_PROCESSES.value() == ""
    monkeypatch.setenv("COPYDICOM_SRC_PASSWORD", "pw")
    assert config.role_variable("src", "_PASSWORD") == "pw"
    with pytest.raises(KeyError):
        config.role_variable("src", "_HEC_TOKEN")  # only --index takes Splunk tokens
