"""Command line: ``copydicom replicate --src URL --dest URL ...``, on the same core as the operators.

``copydicom replicate-tags --src URL --index SPLUNK_URL ...`` indexes the source's tags in Splunk
(``SPLUNK_URL`` as :meth:`SplunkHook.from_url` takes it, HEC token in its query), and
``copydicom conditional-replicate --src URL --index SPLUNK_URL --dest URL --query SPL`` copies what
a search selects (``--anonymize``: de-identified, key in ``COPYDICOM_PSEUDONYM_KEY``).

URLs carry credentials the way the original tool took them (``http://user:password@host:8042``);
the password is masked in every log line and never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

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


def study_date_range(text: str) -> tuple[date | None, date | None]:
    """``20200101-20201231``, ``20200101-``, ``-20201231`` (DICOM range syntax) or one day."""
    first, dash, last = text.partition("-") if len(text) != 10 else (text, "", "")
    if not dash:
        day = parse_day(first)
        return day, day
    return parse_day(first), parse_day(last)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="copydicom", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rep = commands.add_parser("replicate", help="copy every instance the destination lacks")
    rep.add_argument("--src", required=True, help="source Orthanc URL, http://user:password@host:8042")
    rep.add_argument("--dest", required=True, help="destination Orthanc URL")
    rep.add_argument("--since", type=parse_moment, help="received window start, ISO 8601 (UTC if no offset)")
    rep.add_argument("--until", type=parse_moment, help="received window end (exclusive)")
    rep.add_argument("--study-date", type=study_date_range, help="StudyDate range, e.g. 20200101-20201231")
    rep.add_argument("--mode", choices=TRANSFER_MODES, default="rest", help="rest (default) or peer")
    rep.add_argument("--dry-run", action="store_true", help="count what would be copied, copy nothing")
    rep.add_argument("--verify", action="store_true", help="compare the MD5 of what landed")
    rep.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    tags = commands.add_parser("replicate-tags", help="index every instance's tags in Splunk, once")
    tags.add_argument("--src", required=True, help="source Orthanc URL, http://user:password@host:8042")
    tags.add_argument("--index", required=True,
                      help="Splunk URL, https://user:password@host:8089?hec_token=T&index=dicom[&hec_port=8088]")
    tags.add_argument("--since", type=parse_moment, help="received window start, ISO 8601 (UTC if no offset)")
    tags.add_argument("--until", type=parse_moment, help="received window end (exclusive)")
    tags.add_argument("--study-date", type=study_date_range, help="StudyDate range, e.g. 20200101-20201231")
    tags.add_argument("--splunk-index", help="Splunk index, overriding the URL's index=")
    tags.add_argument("--sourcetype", help="sourcetype, overriding the URL's (default _json)")
    tags.add_argument("--dry-run", action="store_true", help="count what would be sent, send nothing")
    tags.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    cond = commands.add_parser("conditional-replicate", help="copy what a Splunk search selects")
    cond.add_argument("--src", required=True, help="source Orthanc URL")
    cond.add_argument("--index", required=True, help="Splunk URL (as for replicate-tags)")
    cond.add_argument("--dest", required=True, help="destination Orthanc URL")
    what = cond.add_mutually_exclusive_group(required=True)
    what.add_argument("--query", help='a filter only, e.g. SeriesDescription="Dose Record" (no pipes, no index=)')
    what.add_argument("--spl", help="full SPL, run as written (trusted input); must return the Orthanc ID fields")
    cond.add_argument("--earliest", help="search window start over Splunk _time (ISO 8601 or e.g. -30d)")
    cond.add_argument("--latest", help="search window end (exclusive)")
    cond.add_argument("--mode", choices=TRANSFER_MODES, default="rest", help="rest (default) or peer")
    cond.add_argument("--anonymize", action="store_true",
                      help="send de-identified copies (PS3.15 Annex E); the key is read from COPYDICOM_PSEUDONYM_KEY")
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
        return 0, command(args)
    except (ReplicationFailed, TagsFailed) as failure:
        print(f"copydicom: {failure}", file=sys.stderr)
        return 1, failure.summary
    except (OrthancError, SplunkError, ValueError) as error:
        print(f"copydicom: {error}", file=sys.stderr)
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
        profile = AnonymizationProfile(key=key)
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
