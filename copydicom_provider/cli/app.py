"""Command line: the operators' jobs from a shell, on the same core functions (this module imports Airflow).

The grammar, help and usage mistakes are :mod:`copydicom_provider.cli.parser`'s, answered before this
module is imported. Credentials come from the environment, out of sight of ``ps`` (see
:mod:`copydicom_provider.cli.urls`); a refused one is named by the variable that holds it
(:mod:`copydicom_provider.cli.refusals`). Exit codes are part of the interface: scripts and cron jobs
branch on them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

# Airflow's logging writes to stdout from the moment it is imported; stdout is kept for the summary.
with contextlib.redirect_stdout(sys.stderr):
    from copydicom_provider import config
    from copydicom_provider.cli.dose_report import dose_report
    from copydicom_provider.cli.parser import (
        FAILED,
        INTERRUPTED,
        MISTAKE,
        OK,
        TERMINATED,
        UNREACHABLE,
        build_parser,
        parse_args,
    )
    from copydicom_provider.cli.refusals import credential_origins, with_fix
    from copydicom_provider.cli.urls import SEEN_SECRETS, URL_ROLES, remember, resolve_url, scrub, with_settings
    from copydicom_provider.copy.peer_jobs import cancel_active_peer_jobs
    from copydicom_provider.deid import AnonymizationProfile
    from copydicom_provider.errors import JobFailed, ServerUnreachable
    from copydicom_provider.hooks.errors import OrthancError
    from copydicom_provider.hooks.splunk import SplunkError
    from copydicom_provider.interrupts import Terminated, sigterm_as_interrupt
    from copydicom_provider.jobs.conditional_replicate import conditional_replicate
    from copydicom_provider.jobs.replicate import replicate
    from copydicom_provider.jobs.replicate_tags import replicate_tags
    from copydicom_provider.jobs.summary import ReplicationSummary, TagsSummary

__all__ = ["SEEN_SECRETS", "build_parser", "main", "run", "scrub"]


class LastProgress(logging.Handler):
    """Remembers the last ``progress:`` line the core logged, for the one-line summary after Ctrl-C."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.line = ""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if progress := re.match(r"progress: (\w+) (\d+)/(\d+)", message):
            label, done, total = progress.groups()
            self.line = f"{label} {done} of {total}"


def _not_short_secret_noise(record: logging.LogRecord) -> bool:
    """Airflow's masker warns on every run that a short password is not masked: the CLI follows the same
    rule on purpose (:func:`copydicom_provider.cli.urls.min_masked_length`), and keeps URL userinfo out
    of what it prints whatever its length."""
    return not str(record.msg).startswith("Skipping masking for a secret")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse and run one command (see :func:`run`); a usage mistake exits 2 (``SystemExit``), as argparse does."""
    return run(parse_args(sys.argv[1:] if argv is None else argv))


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; the summary goes to stdout, everything else to stderr; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for name in ("airflow.sdk._shared.secrets_masker.secrets_masker", "airflow._shared.secrets_masker.secrets_masker"):
        logging.getLogger(name).addFilter(_not_short_secret_noise)
    progress = LastProgress()
    logging.getLogger().addHandler(progress)
    stdout = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr), sigterm_as_interrupt():
            code, summary = _run(COMMANDS[args.command], args)
    except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM (Terminated)
        with contextlib.suppress(KeyboardInterrupt):
            cancel_active_peer_jobs()  # peer mode: no push job or temporary peer left on the source
        by = " by SIGTERM" if isinstance(interrupt, Terminated) else ""
        done = f" ({progress.line})" if progress.line else ""
        print(f"copydicom: interrupted{by}{done}; rerun the same command to resume (what already arrived is skipped)",
              file=sys.stderr)
        return TERMINATED if by else INTERRUPTED
    finally:
        logging.getLogger().removeHandler(progress)
    if summary is not None:
        print(json.dumps(summary.as_dict()) if args.json else f"{args.command}: {summary.line()}", file=stdout)
    return code


def _run(command: Callable[[argparse.Namespace], Any], args: argparse.Namespace) -> tuple[int, Any]:
    """The exit code (see ``EXIT_CODES``) and the summary to print, if any; no traceback for a mistake."""
    roles = [role for role in URL_ROLES if hasattr(args, role)]
    origins = credential_origins({role: getattr(args, role) for role in roles})
    try:
        settings = _connection_settings(args)
        for role in roles:
            url = resolve_url(getattr(args, role), role)
            role_settings = settings if role != "index" else {k: v for k, v in settings.items() if k != "max_parallel"}
            setattr(args, role, with_settings(url, role_settings))
        return OK, command(args)
    except JobFailed as failure:
        print(f"copydicom: {scrub(str(failure))}", file=sys.stderr)
        return FAILED, failure.summary
    except (OrthancError, SplunkError) as error:
        print(f"copydicom: {scrub(with_fix(error, origins, {role: getattr(args, role) for role in roles}))}",
              file=sys.stderr)
        return UNREACHABLE if _unreachable(error) else MISTAKE, None
    except ValueError as error:
        print(f"copydicom: {scrub(str(error))}", file=sys.stderr)
        return MISTAKE, None


def _unreachable(error: OrthancError | SplunkError) -> bool:
    """No answer at all (refused, timed out, TLS), or Splunk busy or down, as opposed to a refusal."""
    return isinstance(error, ServerUnreachable)


def _connection_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``--timeout``, ``--max-parallel``, ``--ca-bundle``, ``--insecure`` as connection extras."""
    settings: dict[str, Any] = {}
    if args.timeout:
        settings["timeout"] = args.timeout
    if getattr(args, "max_parallel", None):  # dose-report has no Orthanc: no --max-parallel
        settings["max_parallel"] = args.max_parallel
    if args.insecure:
        settings["verify"] = False
    elif args.ca_bundle:  # a readable file: checked by the parser
        settings["verify"] = os.path.abspath(args.ca_bundle)
    return settings


def _replicate(args: argparse.Namespace) -> ReplicationSummary:
    return replicate(
        args.src, args.dest, since=args.since, until=args.until, study_date=args.study_date,
        mode=args.mode, dry_run=args.dry_run, verify=args.verify,
    )


def _replicate_tags(args: argparse.Namespace) -> TagsSummary:
    return replicate_tags(
        args.src, args.index, since=args.since, until=args.until, study_date=args.study_date,
        dry_run=args.dry_run, splunk_index=args.splunk_index, sourcetype=args.sourcetype, verify=args.verify,
    )


def _conditional_replicate(args: argparse.Namespace) -> ReplicationSummary:
    profile = None
    if args.anonymize:
        key = config.pseudonym_key()  # set: checked by the parser
        remember(key)
        profile = AnonymizationProfile(key=key, retain_device_identity=args.retain_device_identity,
                                       allow_burned_in=args.allow_burned_in)
    return conditional_replicate(
        args.src, args.index, args.dest, args.query, spl=args.spl, earliest=args.earliest, latest=args.latest,
        mode=args.mode, dry_run=args.dry_run, verify=args.verify, anonymize=profile,
    )


COMMANDS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "replicate": _replicate,
    "replicate-tags": _replicate_tags,
    "conditional-replicate": _conditional_replicate,
    "dose-report": dose_report,
}


if __name__ == "__main__":
    sys.exit(main())
