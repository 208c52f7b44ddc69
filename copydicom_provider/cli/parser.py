"""The ``copydicom`` command line's grammar: commands, options, help texts, exit codes; no Airflow.

Why a module of its own: ``copydicom --help``, ``--version`` and every usage mistake are answered from
here alone, in a fraction of a second, while importing Airflow takes seconds. So this module imports
only the standard library and the package's light modules (option values, mode names, redaction); the
commands' code (:mod:`copydicom_provider.cli.app`) is imported only once a command is to run.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
from collections.abc import Sequence
from typing import Any, NoReturn

from copydicom_provider import __version__, config
from copydicom_provider.cli.urls import URL_ROLES, given_url
from copydicom_provider.cli.values import (
    join_dash_values,
    moment,
    positive_integer,
    positive_number,
    study_date_range,
    study_moment,
    zone_name,
)
from copydicom_provider.copy.modes import TRANSFER_MODES
from copydicom_provider.interrupts import TERMINATED_EXIT
from copydicom_provider.redaction import redact_text
from copydicom_provider.reports.period import quarter_bounds, quarter_of, wall_clock
from copydicom_provider.reports.statistics import OUTLIER_FACTOR as OUTLIER_FACTOR_DEFAULT

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


#: The commands, in the order ``--help`` lists them.
COMMAND_NAMES = ("replicate", "replicate-tags", "conditional-replicate", "dose-report")
#: argparse's words for a command it does not know (the name is quoted with ' or ", as repr() does).
INVALID_COMMAND = re.compile(r"^argument COMMAND: invalid choice: (?P<quoted>'[^']*'|\"[^\"]*\")")


class Parser(argparse.ArgumentParser):
    """argparse quotes what it could not parse (``unrecognized arguments: ...``): never a credential.

    A mistyped command gets one line with the closest command, as git does: the usage text would
    only bury it."""

    #: the subparsers action, set by :func:`build_parser`
    commands: Any = None

    def error(self, message: str) -> NoReturn:
        if typed := INVALID_COMMAND.match(message):
            self.exit(MISTAKE, f"{self.prog}: {unknown_command(typed['quoted'][1:-1])}\n")
        super().error(redact_text(message))


def unknown_command(typed: str) -> str:
    """``unknown command 'replicat': did you mean 'replicate'?``; the typed word is redacted (a URL typed
    without its option lands here, password and all)."""
    shown = redact_text(typed)
    close = difflib.get_close_matches(typed, COMMAND_NAMES, n=1, cutoff=0.6)
    close = close or [name for name in COMMAND_NAMES if typed and typed.lower() in name][:1]
    if close:
        return f"unknown command {shown!r}: did you mean {close[0]!r}? (see copydicom --help)"
    return f"unknown command {shown!r}: use one of {', '.join(COMMAND_NAMES)} (see copydicom --help)"


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


def build_parser() -> Parser:
    parser = Parser(
        prog="copydicom", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Copy DICOM between Orthanc servers and index its tags in Splunk (the copydicom DAGs' jobs).",
        epilog=f"Run 'copydicom COMMAND --help' for a command's options.\n\n{EXIT_CODES}",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = commands
    rep = _subcommand(
        commands, COMMAND_NAMES[0], "copy every instance the destination lacks",
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
        commands, COMMAND_NAMES[1], "index every instance's tags in Splunk, once",
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
        commands, COMMAND_NAMES[2], "copy what a Splunk search selects",
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
    _dose_report_command(commands)
    return parser


def quarter(text: str) -> str:
    """``--quarter``: ``2026Q2`` or ``2026-Q2``, as the DAG's ``quarter`` param, normalised to ``2026-Q2``."""
    try:
        return quarter_of(quarter_bounds(text)[0])
    except ValueError as mistake:
        raise argparse.ArgumentTypeError(str(mistake)) from None


def _dose_report_command(commands: Any) -> None:
    """``dose-report``: the DAG ``copydicom_dose_report``'s params as options, its steps run here."""
    dose = _subcommand(
        commands, COMMAND_NAMES[3], "write the quarterly dose report (HTML, CSV, charts) to a folder",
        "Write the dose and utilisation report of one quarter (or window) from the dose records in Splunk:\n"
        "CSV tables, PNG charts and index.html in DIR/<index>/<quarter>/, as the copydicom_dose_report DAG does.",
        "examples:\n"
        "  copydicom dose-report --index 'https://splunk:8089?index=dicom' --quarter 2026Q2 --out reports\n"
        "  copydicom dose-report --index 'https://splunk:8089' --splunk-index dicom \\\n"
        "      --since 2026-04-01 --until 2026-05-01 --out reports --levels local_levels.csv\n\n"
        "period (study date/times as the scanners wrote them; DICOM gives them no zone):\n"
        "  --quarter: a calendar quarter; --since/--until: any window over the study time, both given;\n"
        "  neither: the last quarter complete in --time-zone",
        ("index",),
    )
    dose.add_argument("--splunk-index", metavar="NAME", help="Splunk index, over the URL's index=, e.g. dicom")
    dose.add_argument("--quarter", type=quarter, metavar="QUARTER", help="the quarter to report, e.g. 2026Q2")
    dose.add_argument("--since", type=study_moment, metavar="TIME",
                      help="with --until: report studies from TIME on the scanners' clock, e.g. 2026-04-01 "
                           "(a time with an offset is read in --time-zone)")
    dose.add_argument("--until", type=study_moment, metavar="TIME",
                      help="with --since: report studies before TIME, e.g. 2026-07-01")
    dose.add_argument("--time-zone", type=zone_name, metavar="ZONE", default="UTC",
                      help="IANA time zone the last complete quarter and offsets are read in, e.g. America/Chicago "
                           "(default: UTC)")
    dose.add_argument("--out", metavar="DIR", required=True,
                      help="folder for the report, e.g. reports (files go to DIR/<index>/<quarter>/)")
    dose.add_argument("--levels", metavar="FILE",
                      help="reference-level table (CSV), e.g. local_levels.csv (default: the table shipped)")
    dose.add_argument("--exam-names", metavar="FILE",
                      help="exam-name table (CSV) of local descriptions -> standard exam names, e.g. "
                           "local_exam_names.csv (default: the table shipped)")
    dose.add_argument("--outlier-factor", type=positive_number, metavar="N", default=OUTLIER_FACTOR_DEFAULT,
                      help=f"an event above N times its protocol's median is an outlier, e.g. 3 "
                           f"(default: {OUTLIER_FACTOR_DEFAULT:g})")
    dose.add_argument("--orthanc-url", metavar="URL",
                      help="the Orthanc the outliers link to (their study page in Orthanc Explorer), "
                           "e.g. https://pacs.example.org:8042 (default: no links)")
    dose.add_argument("--timeout", type=positive_number, metavar="SECONDS",
                      help="per-request timeout, e.g. 120 (default: 60)")
    tls = dose.add_mutually_exclusive_group()
    tls.add_argument("--ca-bundle", metavar="FILE",
                     help="check HTTPS certificates against this CA bundle (PEM), e.g. hospital-ca.pem")
    tls.add_argument("--insecure", action="store_true", help="do not check HTTPS certificates (test servers only)")
    dose.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command and its options, or exit 2 with a message (and 0 for ``--help``/``--version``).

    An option that the command does not have gets the closest one it has (``--dry-rnu``: ``--dry-run``),
    under the command's own usage.
    """
    parser = build_parser()
    args, extras = parser.parse_known_args(join_dash_values(argv))
    if extras:
        command = parser.commands.choices[args.command]
        command.error(f"unrecognized arguments: {' '.join(extras)}{_closest_options(command, extras)}")
    try:
        check_combination(args)
        for role in URL_ROLES:
            if hasattr(args, role):
                given_url(getattr(args, role), role)
    except ValueError as mistake:
        parser.commands.choices[args.command].error(str(mistake))
    return args


def check_combination(args: argparse.Namespace) -> None:
    """Refuse option combinations the core would refuse, before any request and before Airflow is imported."""
    if getattr(args, "anonymize", False) and args.mode != "rest":
        raise ValueError("--anonymize works with --mode rest only (this machine de-identifies each instance): "
                         "leave --mode out or use --mode rest")
    if not getattr(args, "anonymize", True) and (args.retain_device_identity or args.allow_burned_in):
        raise ValueError("--retain-device-identity and --allow-burned-in apply to --anonymize: add --anonymize")
    if getattr(args, "study_date", None) and (args.since or args.until):
        raise ValueError("choose a received window (--since/--until) or --study-date, not both")
    if getattr(args, "anonymize", False) and not config.pseudonym_key():
        raise ValueError("--anonymize needs the pseudonym key in the environment variable COPYDICOM_PSEUDONYM_KEY")
    ca_bundle = getattr(args, "ca_bundle", None)
    if ca_bundle and not (os.path.isfile(ca_bundle) and os.access(ca_bundle, os.R_OK)):
        raise ValueError(f"--ca-bundle: {ca_bundle!r} is not a readable file (a PEM file of CA certificates)")
    if args.command == COMMAND_NAMES[3]:
        _check_dose_period(args)
    elif getattr(args, "since", None) and args.until and args.since >= args.until:
        raise ValueError(f"--until ({args.until.isoformat()}) is not after --since ({args.since.isoformat()}): "
                         "the window [since, until) would be empty; swap them?")


def _check_dose_period(args: argparse.Namespace) -> None:
    """A quarter, or a window with both ends (a report's period has both), not both kinds."""
    if args.quarter and (args.since or args.until):
        raise ValueError("choose --quarter or --since/--until, not both")
    if bool(args.since) != bool(args.until):
        raise ValueError("--since and --until go together: a report's window needs both ends (or use --quarter)")
    if args.since and wall_clock(args.since, args.time_zone) >= wall_clock(args.until, args.time_zone):
        raise ValueError(f"--until ({args.until.isoformat()}) is not after --since ({args.since.isoformat()}): "
                         "the window [since, until) would be empty; swap them?")
    if args.outlier_factor <= 1:
        raise ValueError(f"--outlier-factor must be above 1, not {args.outlier_factor:g}")
    if args.orthanc_url and not args.orthanc_url.startswith(("http://", "https://")):
        raise ValueError(f"--orthanc-url must be an http:// or https:// URL, not {args.orthanc_url!r}")


def _closest_options(command: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """`` (did you mean --dry-run?)`` for the extras that look like a mistyped option of ``command``."""
    known = [option for action in command._actions for option in action.option_strings]
    hints = []
    for word in extras:
        name = word.split("=", 1)[0]
        if name.startswith("--") and (close := difflib.get_close_matches(name, known, n=1, cutoff=0.7)):
            hints.append((name, close[0]))
    if len(hints) == 1:
        return f" (did you mean {hints[0][1]}?)"
    return "".join(f"; {typed}: did you mean {close}?" for typed, close in hints)
