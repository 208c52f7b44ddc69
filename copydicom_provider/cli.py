"""Command line: ``copydicom replicate --src URL --dest URL ...``, on the same core as the operators.

``copydicom replicate-tags --src URL --index SPLUNK_URL ...`` indexes the source's tags in Splunk
(``SPLUNK_URL`` as :meth:`SplunkHook.from_url` takes it, HEC token in its query).

URLs carry credentials the way the original tool took them (``http://user:password@host:8042``);
the password is masked in every log line and never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Sequence
from datetime import date

# Airflow's logging writes to stdout from the moment it is imported; stdout is kept for the summary.
with contextlib.redirect_stdout(sys.stderr):
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        code, summary = _run(args)
    if summary is not None:
        print(json.dumps(summary.as_dict()) if args.json else f"{args.command}: {summary.line()}", file=stdout)
    return code


def _run(args: argparse.Namespace) -> tuple[int, ReplicationSummary | TagsSummary | None]:
    if args.command == "replicate-tags":
        return _run_tags(args)
    try:
        summary = replicate(
            args.src,
            args.dest,
            since=args.since,
            until=args.until,
            study_date=args.study_date,
            mode=args.mode,
            dry_run=args.dry_run,
            verify=args.verify,
        )
    except ReplicationFailed as failure:
        print(f"copydicom: {failure}", file=sys.stderr)
        return 1, failure.summary
    except (OrthancError, ValueError) as error:
        print(f"copydicom: {error}", file=sys.stderr)
        return 2, None
    return 0, summary


def _run_tags(args: argparse.Namespace) -> tuple[int, TagsSummary | None]:
    try:
        summary = replicate_tags(
            args.src,
            args.index,
            since=args.since,
            until=args.until,
            study_date=args.study_date,
            dry_run=args.dry_run,
            splunk_index=args.splunk_index,
            sourcetype=args.sourcetype,
        )
    except TagsFailed as failure:
        print(f"copydicom: {failure}", file=sys.stderr)
        return 1, failure.summary
    except (OrthancError, SplunkError, ValueError) as error:
        print(f"copydicom: {error}", file=sys.stderr)
        return 2, None
    return 0, summary


if __name__ == "__main__":
    sys.exit(main())
