"""The ``copydicom`` command: its grammar (``parser``), the jobs from a shell (``app``), its URLs (``urls``),
option values (``values``) and refused credentials (``refusals``).

Importing this package imports no Airflow: ``--help``, ``--version`` and usage mistakes are answered by
``parser`` alone, and ``app`` (which imports Airflow, seconds of start-up) only once a command runs.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``copydicom`` script: parse first, then import the command's modules and run it."""
    import sys

    from copydicom_provider.cli.parser import parse_args

    args = parse_args(sys.argv[1:] if argv is None else argv)
    from copydicom_provider.cli.app import run

    return run(args)
