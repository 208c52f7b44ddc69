"""Command line: the operators' jobs from a shell, on the same core functions.

Credentials come from the environment, out of sight of ``ps`` (see :mod:`copydicom_provider.cli.urls`);
option values are parsed with messages that show their format (:mod:`copydicom_provider.cli.values`).
Exit codes are part of the interface: scripts and cron jobs branch on them.
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
    from copydicom_provider import __version__, config
    from copydicom_provider.cli.urls import SEEN_SECRETS, URL_ROLES, remember, resolve_url, scrub, with_settings
    from copydicom_provider.cli.values import (
        join_dash_values,
        moment,
        positive_integer,
        positive_number,
        study_date_range,
    )
    from copydicom_provider.copy.peer_jobs import cancel_active_peer_jobs
    from copydicom_provider.deid import AnonymizationProfile
    from copydicom_provider.errors import JobFailed, ServerUnreachable
    from copydicom_provider.hooks.errors import OrthancError
    from copydicom_provider.hooks.splunk import SplunkError
    from copydicom_provider.interrupts import TERMINATED_EXIT, Terminated, sigterm_as_interrupt
    from copydicom_provider.jobs.conditional_replicate import conditional_replicate
    from copydicom_provider.jobs.replicate import TRANSFER_MODES, replicate
    from copydicom_provider.jobs.replicate_tags import replicate_tags
    from copydicom_provider.jobs.summary import ReplicationSummary, TagsSummary
    from copydicom_provider.redaction import redact_text

__all__ = ["SEEN_SECRETS", "build_parser", "main", "scrub"]

OK, FAILED, MISTAKE, UNREACHABLE, INTERRUPTED, TERMINATED = 0, 1, 2, 3, 130, TERMINATED_EXIT
EXIT_CODES = f"""exit codes:
  {OK}    done (a dry run: counted)
  {FAILED}    some instances failed; the summary says how many, a rerun retries them
  {MISTAKE}    usage or configuration mistake (option, URL, credentials, query): nothing was copied
  {UNREACHABLE}    a server could not be reached or is busy or down (refused, timed out, TLS failure,
       Splunk busy or a search peer down): nothing is wrong with the command, retry later
  {INTERRUPTED}  interrupted (Ctrl-C); a rerun of the same command resumes, nothing is copied twice
  {TERMINATED}  stopped by SIGTERM (docker stop, Kubernetes, systemd): as 130"""
CREDENTIALS = """credentials:
  Leave --src, --dest or --index out and set COPYDICOM_SRC, COPYDICOM_DEST or COPYDICOM_INDEX to the
  URL, or give a URL without credentials and set COPYDICOM_<ROLE>_USER and COPYDICOM_<ROLE>_PASSWORD
  (Splunk also COPYDICOM_INDEX_HEC_TOKEN, COPYDICOM_INDEX_TOKEN). A password in a URL on the command
  line works, with a warning: other users can see it in the process list. In a URL, percent-encode
  # ? / @ in a password (# as %23)."""
WINDOWS = """windows:
  --since/--until: when the source received the instance, ISO 8601, e.g. 2026-11-01T00:00:00Z
  --study-date: the StudyDate tag, e.g. 20200101-20201231 or 2020-01-01-2020-12-31; not with --since"""
SRC_HELP = "source Orthanc URL, e.g. http://pacs:8042 (default: $COPYDICOM_SRC)"
DEST_HELP = "destination Orthanc URL, e.g. http://research:8042 (default: $COPYDICOM_DEST)"
INDEX_HELP = ("Splunk URL with the index, e.g. 'https://splunk:8089?index=dicom&hec_port=8088' "
              "(default: $COPYDICOM_INDEX)")
ROLE_HELP = {"src": SRC_HELP, "dest": DEST_HELP, "index": INDEX_HELP}


class Parser(argparse.ArgumentParser):
    """argparse quotes what it could not parse (``unrecognized arguments: ...``): never a credential."""

    def error(self, message: str):
        super().error(redact_text(message))


def _subcommand(commands: Any, name: str, summary: str, description: str, epilog: str,
                roles: Sequence[str]) -> argparse.ArgumentParser:
    """A command's parser, with the URL option of each of its server ``roles`` first."""
    parser = commands.add_parser(
        name, help=summary, description=description, epilog=f"{epilog}\n\n{CREDENTIALS}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for role in roles:
        parser.add_argument(f"--{role}", metavar="URL", help=ROLE_HELP[role])
    return parser


def _window_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=moment, metavar="TIME",
                        help="only instances received from TIME on, e.g. 2026-11-01T00:00:00Z (UTC if no offset)")
    parser.add_argument("--until", type=moment, metavar="TIME",
                        help="only instances received before TIME, e.g. 2026-11-02T00:00:00Z")
    parser.add_argument("--study-date", type=study_date_range, metavar="RANGE",
                        help="only studies of these days, e.g. 20200101-20201231, 2020-01-01-2020-12-31, 20200101")


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=positive_number, metavar="SECONDS",
                        help="per-request timeout for every server, e.g. 120 (default: 60)")
    parser.add_argument("--max-parallel", type=positive_integer, metavar="N",
                        help="concurrent requests per Orthanc server, e.g. 8 (default: 4)")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--ca-bundle", metavar="FILE",
                     help="check HTTPS certificates against this CA bundle (PEM), e.g. hospital-ca.pem")
    tls.add_argument("--insecure", action="store_true",
                     help="do not check HTTPS certificates (test servers only)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def _copy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=TRANSFER_MODES, default="rest",
                        help="rest: through this machine (default); peer: the source pushes to the destination")
    parser.add_argument("--dry-run", action="store_true", help="count what would be copied, copy nothing")
    parser.add_argument("--verify", action="store_true",
                        help="compare the MD5 of what landed, and of copies already there (finds corrections)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="copydicom", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Copy DICOM between Orthanc servers and index its tags in Splunk (the copydicom DAGs' jobs).",
        epilog=f"Run 'copydicom COMMAND --help' for a command's options.\n\n{EXIT_CODES}",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    rep = _subcommand(
        commands, "replicate", "copy every instance the destination lacks",
        "Copy every instance of the source Orthanc that the destination lacks, never twice.",
        "examples:\n"
        "  copydicom replicate --src http://pacs:8042 --dest http://research:8042 --dry-run\n"
        "  copydicom replicate --src http://pacs:8042 --dest http://research:8042 --study-date 20200101-20201231\n\n"
        + WINDOWS,
        ("src", "dest"),
    )
    _window_options(rep)
    _copy_options(rep)
    _connection_options(rep)

    tags = _subcommand(
        commands, "replicate-tags", "index every instance's tags in Splunk, once",
        "Send every instance's DICOM tags to Splunk's HTTP Event Collector, once per instance; dose reports\n"
        "also as one record per irradiation event.",
        "examples:\n"
        "  copydicom replicate-tags --src http://pacs:8042 --index 'https://splunk:8089?index=dicom'\n"
        "  copydicom replicate-tags --src http://pacs:8042 --index 'https://splunk:8089' --splunk-index dicom_test\n\n"
        + WINDOWS,
        ("src", "index"),
    )
    _window_options(tags)
    tags.add_argument("--splunk-index", metavar="NAME", help="Splunk index, over the URL's index=, e.g. dicom")
    tags.add_argument("--sourcetype", metavar="NAME",
                      help="sourcetype, over the URL's sourcetype=, e.g. copydicom:json (default: _json)")
    tags.add_argument("--dry-run", action="store_true", help="count what would be sent, send nothing")
    tags.add_argument("--verify", action="store_true",
                      help="after sending, ask the index for every record sent and send what it lacks once more "
                           "(catches a proxy answering for HEC without storing)")
    _connection_options(tags)

    cond = _subcommand(
        commands, "conditional-replicate", "copy what a Splunk search selects",
        "Copy the instances a Splunk search selects that the destination lacks, optionally de-identified.",
        "examples:\n"
        "  copydicom conditional-replicate --src http://pacs:8042 --index 'https://splunk:8089?index=dicom' \\\n"
        "      --dest http://research:8042 --query 'SeriesDescription=\"Dose Record\"' --earliest -30d\n"
        "  COPYDICOM_PSEUDONYM_KEY=... copydicom conditional-replicate ... --query 'Modality=CT' --anonymize\n\n"
        "times:\n"
        "  --earliest/--latest: over Splunk's _time (the study time), ISO 8601 or Splunk's relative form:\n"
        "  -30d, -1mon@mon, now; --earliest -30d and --earliest=-30d both work",
        ("src", "index", "dest"),
    )
    what = cond.add_mutually_exclusive_group(required=True)
    what.add_argument("--query", metavar="FILTER",
                      help="a filter only, e.g. 'SeriesDescription=\"Dose Record\" Modality=SR' (no pipes, no index=)")
    what.add_argument("--spl", metavar="SPL",
                      help="full SPL, run as written (trusted input), returning the Orthanc ID fields, e.g. "
                           "'search index=dicom Modality=SR | fields OrthancInstanceID'")
    cond.add_argument("--earliest", metavar="TIME", help="search from TIME, e.g. -30d or 2026-01-01T00:00:00Z")
    cond.add_argument("--latest", metavar="TIME", help="search until TIME (exclusive), e.g. now or -1d")
    _copy_options(cond)
    cond.add_argument("--anonymize", action="store_true",
                      help="send de-identified copies (PS3.15 Annex E; rest mode); key in $COPYDICOM_PSEUDONYM_KEY")
    cond.add_argument("--retain-device-identity", action="store_true",
                      help="with --anonymize: keep station name and device serial (dose audits per scanner)")
    cond.add_argument("--allow-burned-in", action="store_true",
                      help="with --anonymize: also send what may carry burned-in text (ultrasound, photographs, "
                           "secondary captures, unknown classes; never encapsulated documents)")
    _connection_options(cond)
    return parser


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
    """Run one command; the summary goes to stdout, everything else to stderr; returns the exit code."""
    args = build_parser().parse_args(join_dash_values(sys.argv[1:] if argv is None else argv))
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
    try:
        _check_combination(args)
        settings = _connection_settings(args)
        for role in URL_ROLES:
            if hasattr(args, role):
                url = resolve_url(getattr(args, role), role)
                role_settings = settings if role != "index" else {
                    k: v for k, v in settings.items() if k != "max_parallel"}
                setattr(args, role, with_settings(url, role_settings))
        return OK, command(args)
    except JobFailed as failure:
        print(f"copydicom: {scrub(str(failure))}", file=sys.stderr)
        return FAILED, failure.summary
    except (OrthancError, SplunkError) as error:
        print(f"copydicom: {scrub(str(error))}", file=sys.stderr)
        return UNREACHABLE if _unreachable(error) else MISTAKE, None
    except ValueError as error:
        print(f"copydicom: {scrub(str(error))}", file=sys.stderr)
        return MISTAKE, None


def _unreachable(error: OrthancError | SplunkError) -> bool:
    """No answer at all (refused, timed out, TLS), or Splunk busy or down, as opposed to a refusal."""
    return isinstance(error, ServerUnreachable)


def _check_combination(args: argparse.Namespace) -> None:
    """Refuse option combinations the core would refuse, before any request."""
    if getattr(args, "anonymize", False) and args.mode != "rest":
        raise ValueError("--anonymize works with --mode rest only (this machine de-identifies each instance): "
                         "leave --mode out or use --mode rest")
    if not getattr(args, "anonymize", True) and (args.retain_device_identity or args.allow_burned_in):
        raise ValueError("--retain-device-identity and --allow-burned-in apply to --anonymize: add --anonymize")
    if getattr(args, "study_date", None) and (args.since or args.until):
        raise ValueError("choose a received window (--since/--until) or --study-date, not both")


def _connection_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``--timeout``, ``--max-parallel``, ``--ca-bundle``, ``--insecure`` as connection extras."""
    settings: dict[str, Any] = {}
    if args.timeout:
        settings["timeout"] = args.timeout
    if args.max_parallel:
        settings["max_parallel"] = args.max_parallel
    if args.insecure:
        settings["verify"] = False
    elif args.ca_bundle:
        if not os.path.isfile(args.ca_bundle) or not os.access(args.ca_bundle, os.R_OK):
            raise ValueError(f"--ca-bundle: {args.ca_bundle!r} is not a readable file (a PEM file of CA certificates)")
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
        key = config.pseudonym_key()
        if not key:
            raise ValueError("--anonymize needs the pseudonym key in the environment variable COPYDICOM_PSEUDONYM_KEY")
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
}


if __name__ == "__main__":
    sys.exit(main())
