"""Command line: ``copydicom replicate --src URL --dest URL ...``, on the same core as the operators.

``copydicom replicate-tags --src URL --index SPLUNK_URL ...`` indexes the source's tags in Splunk
(``SPLUNK_URL`` as :meth:`SplunkHook.from_url` takes it, HEC token in its query), and
``copydicom conditional-replicate --src URL --index SPLUNK_URL --dest URL --query SPL`` copies what
a search selects (``--anonymize``: de-identified, key in ``COPYDICOM_PSEUDONYM_KEY``).

Credentials come from the environment, out of sight of ``ps``: each URL option ``--src``,
``--dest`` and ``--index`` may be left out and read from ``COPYDICOM_SRC``, ``COPYDICOM_DEST`` or
``COPYDICOM_INDEX``, and a URL without credentials takes them from ``COPYDICOM_<ROLE>_USER`` and
``COPYDICOM_<ROLE>_PASSWORD`` (Splunk also ``COPYDICOM_INDEX_HEC_TOKEN`` and ``COPYDICOM_INDEX_TOKEN``).
URLs with credentials (``http://user:password@host:8042``) keep working, with a warning. Passwords
are masked in every log line, and no error message quotes one, however malformed the URL.
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
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

# Airflow's logging writes to stdout from the moment it is imported; stdout is kept for the summary.
with contextlib.redirect_stdout(sys.stderr):
    from airflow.sdk.log import mask_secret

    from copydicom_provider.core.anonymize import AnonymizationProfile
    from copydicom_provider.core.conditional import conditional_replicate
    from copydicom_provider.core.progress import ReplicationSummary
    from copydicom_provider.core.replication import TRANSFER_MODES, ReplicationFailed, replicate
    from copydicom_provider.core.tags import TagsFailed, TagsSummary, replicate_tags
    from copydicom_provider.core.window import parse_day, parse_moment
    from copydicom_provider.hooks.errors import OrthancError
    from copydicom_provider.hooks.splunk import SplunkError
    from copydicom_provider.redaction import redact_text

log = logging.getLogger("copydicom_provider.cli")
#: Every credential the CLI has seen, scrubbed from anything it prints.
SEEN_SECRETS: set[str] = set()
URL_ROLES = {"src": ("http", "https"), "dest": ("http", "https"), "index": ("http", "https", "splunk")}
SPLUNK_TOKENS = ("hec_token", "token")


class Parser(argparse.ArgumentParser):
    """argparse quotes what it could not parse (``unrecognized arguments: ...``): never a credential."""

    def error(self, message: str):  # type: ignore[override]
        super().error(redact_text(message))


def check_url(url: str, option: str, schemes: tuple[str, ...]) -> None:
    """A clear error for a malformed URL that quotes none of it (a typo may hide where the password is)."""
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", url)
    expected = " or ".join(f"{s}://" for s in schemes)
    if not scheme:
        raise ValueError(f"{option}: not a URL: it must start with {expected} (the scheme or '://' is missing or misspelt)")
    if scheme.group(1).lower() not in schemes:
        raise ValueError(f"{option}: the scheme must be {expected}")
    parts = urlsplit(url)
    try:
        parts.port
    except ValueError:
        raise ValueError(f"{option}: the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError(f"{option}: the URL names no host")


def resolve_url(value: str | None, role: str) -> str:
    """``--role``'s URL, or ``COPYDICOM_<ROLE>``; credentials from the environment fill in what it lacks."""
    prefix = f"COPYDICOM_{role.upper()}"
    url = value or os.environ.get(prefix, "")
    if not url:
        raise ValueError(f"--{role} is missing: give the URL, or set the environment variable {prefix}")
    check_url(url, f"--{role}", URL_ROLES[role])
    parts = urlsplit(url)
    if parts.password:
        SEEN_SECRETS.add(parts.password)
        mask_secret(parts.password)
        if value:
            log.warning("--%s carries a password, which other users can see in the process list: "
                        "prefer %s_PASSWORD (or the whole URL in %s)", role, prefix, prefix)
    password = os.environ.get(f"{prefix}_PASSWORD")
    if password and not parts.password:
        user = parts.username or os.environ.get(f"{prefix}_USER")
        if not user:
            raise ValueError(f"{prefix}_PASSWORD is set but no user: set {prefix}_USER or put user@ in the URL")
        SEEN_SECRETS.add(password)
        mask_secret(password)
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}")
    if role == "index":
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        for name in SPLUNK_TOKENS:
            if query.get(name):
                SEEN_SECRETS.add(query[name])
                mask_secret(query[name])
            elif token := os.environ.get(f"{prefix}_{name.upper()}"):
                SEEN_SECRETS.add(token)
                mask_secret(token)
                query[name] = token
        parts = parts._replace(query=urlencode(query))
    return urlunsplit(parts)


def scrub(text: str) -> str:
    """What the CLI prints about a failure: no credential it has seen, no URL userinfo."""
    for secret in sorted(SEEN_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return redact_text(text)


def study_date_range(text: str) -> tuple[date | None, date | None]:
    """``20200101-20201231``, ``20200101-``, ``-20201231`` (DICOM range syntax) or one day."""
    first, dash, last = text.partition("-") if len(text) != 10 else (text, "", "")
    if not dash:
        day = parse_day(first)
        return day, day
    return parse_day(first), parse_day(last)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="copydicom", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rep = commands.add_parser("replicate", help="copy every instance the destination lacks")
    rep.add_argument("--src", help="source Orthanc URL, http://host:8042 (default: $COPYDICOM_SRC)")
    rep.add_argument("--dest", help="destination Orthanc URL (default: $COPYDICOM_DEST)")
    rep.add_argument("--since", type=parse_moment, help="received window start, ISO 8601 (UTC if no offset)")
    rep.add_argument("--until", type=parse_moment, help="received window end (exclusive)")
    rep.add_argument("--study-date", type=study_date_range, help="StudyDate range, e.g. 20200101-20201231")
    rep.add_argument("--mode", choices=TRANSFER_MODES, default="rest", help="rest (default) or peer")
    rep.add_argument("--dry-run", action="store_true", help="count what would be copied, copy nothing")
    rep.add_argument("--verify", action="store_true", help="compare the MD5 of what landed")
    rep.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    tags = commands.add_parser("replicate-tags", help="index every instance's tags in Splunk, once")
    tags.add_argument("--src", help="source Orthanc URL, http://host:8042 (default: $COPYDICOM_SRC)")
    tags.add_argument("--index",
                      help="Splunk URL, https://host:8089?index=dicom[&hec_port=8088] (default: $COPYDICOM_INDEX)")
    tags.add_argument("--since", type=parse_moment, help="received window start, ISO 8601 (UTC if no offset)")
    tags.add_argument("--until", type=parse_moment, help="received window end (exclusive)")
    tags.add_argument("--study-date", type=study_date_range, help="StudyDate range, e.g. 20200101-20201231")
    tags.add_argument("--splunk-index", help="Splunk index, overriding the URL's index=")
    tags.add_argument("--sourcetype", help="sourcetype, overriding the URL's (default _json)")
    tags.add_argument("--dry-run", action="store_true", help="count what would be sent, send nothing")
    tags.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    cond = commands.add_parser("conditional-replicate", help="copy what a Splunk search selects")
    cond.add_argument("--src", help="source Orthanc URL (default: $COPYDICOM_SRC)")
    cond.add_argument("--index", help="Splunk URL, as for replicate-tags (default: $COPYDICOM_INDEX)")
    cond.add_argument("--dest", help="destination Orthanc URL (default: $COPYDICOM_DEST)")
    what = cond.add_mutually_exclusive_group(required=True)
    what.add_argument("--query", help='a filter only, e.g. SeriesDescription="Dose Record" (no pipes, no index=)')
    what.add_argument("--spl", help="full SPL, run as written (trusted input); must return the Orthanc ID fields")
    cond.add_argument("--earliest", help="search window start over Splunk _time (ISO 8601 or e.g. -30d)")
    cond.add_argument("--latest", help="search window end (exclusive)")
    cond.add_argument("--mode", choices=TRANSFER_MODES, default="rest", help="rest (default) or peer")
    cond.add_argument("--anonymize", action="store_true",
                      help="send de-identified copies (PS3.15 Annex E); the key is read from COPYDICOM_PSEUDONYM_KEY")
    cond.add_argument("--retain-device-identity", action="store_true",
                      help="with --anonymize: keep station name and device serial (dose audits per scanner)")
    cond.add_argument("--allow-burned-in", action="store_true",
                      help="with --anonymize: also send what may carry burned-in text (secondary captures, PDFs, ...)")
    cond.add_argument("--dry-run", action="store_true", help="count what would be copied, copy nothing")
    cond.add_argument("--verify", action="store_true", help="compare the MD5 of what landed")
    cond.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        code, summary = _run(COMMANDS[args.command], args)
    if summary is not None:
        print(json.dumps(summary.as_dict()) if args.json else f"{args.command}: {summary.line()}", file=stdout)
    return code


def _run(command: Callable[[argparse.Namespace], Any], args: argparse.Namespace) -> tuple[int, Any]:
    """Exit 0 with the summary; 1 when instances failed (summary still printed); 2 on bad input."""
    try:
        for role in URL_ROLES:
            if hasattr(args, role):
                setattr(args, role, resolve_url(getattr(args, role), role))
        return 0, command(args)
    except (ReplicationFailed, TagsFailed) as failure:
        print(f"copydicom: {scrub(str(failure))}", file=sys.stderr)
        return 1, failure.summary
    except (OrthancError, SplunkError, ValueError) as error:
        print(f"copydicom: {scrub(str(error))}", file=sys.stderr)
        return 2, None


def _replicate(args: argparse.Namespace) -> ReplicationSummary:
    return replicate(
        args.src, args.dest, since=args.since, until=args.until, study_date=args.study_date,
        mode=args.mode, dry_run=args.dry_run, verify=args.verify,
    )


def _replicate_tags(args: argparse.Namespace) -> TagsSummary:
    return replicate_tags(
        args.src, args.index, since=args.since, until=args.until, study_date=args.study_date,
        dry_run=args.dry_run, splunk_index=args.splunk_index, sourcetype=args.sourcetype,
    )


def _conditional_replicate(args: argparse.Namespace) -> ReplicationSummary:
    profile = None
    if args.anonymize:
        key = os.environ.get("COPYDICOM_PSEUDONYM_KEY", "")
        if not key:
            raise ValueError("--anonymize needs the pseudonym key in the environment variable COPYDICOM_PSEUDONYM_KEY")
        mask_secret(key)
        SEEN_SECRETS.add(key)
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
