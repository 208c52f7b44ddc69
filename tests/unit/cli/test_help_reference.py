"""The command-line reference (docs/cli.md) is ``copydicom --help`` itself: regenerated here, so the two cannot drift.

``python -m tests.unit.cli.test_help_reference`` rewrites the reference's help blocks after a change to the CLI.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

from copydicom_provider import __version__

REFERENCE = Path(__file__).resolve().parents[3] / "docs" / "cli.md"
COPYDICOM = str(Path(sys.executable).with_name("copydicom"))
COMMANDS = ["", "replicate", "replicate-tags", "conditional-replicate", "dose-report"]
WIDTH = {"COLUMNS": "100"}
BLOCK = re.compile(r"<!-- copydicom-help: (?P<command>[^>]*?) -->\n```text\n(?P<text>.*?)```\n\n", re.S)
END = "<!-- copydicom-help: END -->"


@cache
def help_text(command: str) -> str:
    """What ``copydicom [command] --help`` prints in a 100-column terminal (the installed script, as users run it)."""
    args = [COPYDICOM, *([command] if command else []), "--help"]
    env = {**os.environ, **WIDTH}
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def blocks(commands: list[str]) -> str:
    return "".join(
        f"<!-- copydicom-help: copydicom {f'{c} ' if c else ''}--help -->\n```text\n{help_text(c)}```\n\n"
        for c in commands
    )


def readme_blocks() -> dict[str, str]:
    return {m["command"]: m["text"] for m in BLOCK.finditer(REFERENCE.read_text())}


def test_the_cli_reference_shows_every_commands_help_exactly_as_the_cli_prints_it():
    documented = readme_blocks()
    expected = {f"copydicom {f'{c} ' if c else ''}--help" for c in COMMANDS}
    assert set(documented) == expected, "regenerate with: python -m tests.unit.cli.test_help_reference"
    for command in COMMANDS:
        name = f"copydicom {f'{command} ' if command else ''}--help"
        assert documented[name] == help_text(command), f"{name} drifted: python -m tests.unit.cli.test_help_reference"


def test_help_lists_exit_codes_formats_and_every_option_with_an_example():
    for command in COMMANDS[1:]:
        text = help_text(command)
        for code in ("0 ", "1 ", "2 ", "3 ", "130 "):
            assert f"\n  {code}" in text, f"exit code {code.strip()} missing from {command} --help"
        options = re.findall(r"^  (--[a-z-]+)", text, re.M)
        assert len(options) > 8
        for line in re.findall(r"^  --[a-z-]+ [A-Z]+.*(?:\n {10,}.*)*", text, re.M):  # options that take a value
            assert "e.g." in line or "{" in line, f"no example in: {line}"
    version = subprocess.run([COPYDICOM, "--version"], capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and version.stdout.strip() == f"copydicom {__version__}"


def regenerate() -> None:
    text = REFERENCE.read_text()
    first = min([m.start() for m in BLOCK.finditer(text)] + [text.index(END)])
    REFERENCE.write_text(text[:first] + blocks(COMMANDS) + text[text.index(END):])


if __name__ == "__main__":
    regenerate()
