"""The keyed pseudonyms: stable for one key, different for another, and what the profile gives."""

from __future__ import annotations

import ast
from pathlib import Path

from copydicom_provider.deid import AnonymizationProfile
from copydicom_provider.deid import options as deid_options
from copydicom_provider.deid import walker as deid_walker
from copydicom_provider.deid.keying import MAX_SHIFT_DAYS, keyed_pseudonym, keyed_shift_days, keyed_uid


def test_keyed_values_are_stable_per_key_and_differ_between_keys():
    assert keyed_pseudonym("k", "MRN-1") == keyed_pseudonym("k", "MRN-1") != keyed_pseudonym("other", "MRN-1")
    assert keyed_pseudonym("k", "MRN-1").startswith("ANON-") and len(keyed_pseudonym("k", "MRN-1")) == 21
    assert keyed_uid("k", "1.2.3").startswith("2.25.") and keyed_uid("k", "1.2.3") != keyed_uid("k", "1.2.4")
    assert all(1 <= keyed_shift_days("k", f"MRN-{n}") <= MAX_SHIFT_DAYS for n in range(200))


def test_the_profile_gives_the_keyed_values_of_its_key():
    profile = AnonymizationProfile(key="k")
    assert profile.pseudonym("MRN-1") == keyed_pseudonym("k", "MRN-1")
    assert profile.uid("1.2.3") == keyed_uid("k", "1.2.3")
    assert profile.date_shift_days("MRN-1") == keyed_shift_days("k", "MRN-1")


def _imports(module: object) -> set[str]:
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_the_walker_reads_the_options_and_does_not_import_the_profile():
    assert "copydicom_provider.deid.profile" not in _imports(deid_walker)
    assert "copydicom_provider.deid.profile" not in _imports(deid_options)
    assert not any(name.startswith("copydicom_provider.deid.walker") for name in _imports(deid_options))
