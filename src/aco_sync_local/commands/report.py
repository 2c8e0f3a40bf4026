"""``aco-sync report``: where the latest sync's report.html is, and the ACO quality score.

With ``--stack NAME`` the latest sync of a deployed stack: its ``results/<aco_id>/<sync_id>/`` files are
downloaded from the data bucket first (default ``./.aco-sync/stack-results/<aco_id>/<sync_id>/``).
"""

from __future__ import annotations

import argparse
import webbrowser
from pathlib import Path

from aco_sync_local.commands._common import add_stack, add_state_dir, error
from aco_sync_local.runner import LocalRunError, LocalSyncResult, load_latest_result
from aco_sync_local.summary import quality_score_lines


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report", help="print the path of the latest sync's report.html (and the score)"
    )
    add_state_dir(parser)
    add_stack(parser)
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="with --stack: where to download the sync's results "
        "(default: ./.aco-sync/stack-results/<aco_id>/<sync_id>/)",
    )
    parser.add_argument("--open", action="store_true", help="open the report in the default browser")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.out is not None and not args.stack:
        return error("--out needs --stack (a local sync's report is already in the state folder)")
    try:
        result = _load_report(args)
    except LocalRunError as exc:
        return error(str(exc))
    if not result.report_html or not Path(result.report_html).is_file():
        where = result.results_dir or args.state_dir
        return error(f"the latest sync ({result.aco_id}) wrote no report.html (results: {where})")
    print(result.report_html)
    for line in quality_score_lines(result):
        print(line)
    if args.open:
        webbrowser.open(Path(result.report_html).resolve().as_uri())
    return 0


def _load_report(args: argparse.Namespace) -> LocalSyncResult:
    if args.stack:
        import boto3

        from aco_sync_local.deployed_stack import download_stack_results

        return download_stack_results(
            args.stack, args.aco_id, out_dir=args.out, session=boto3.Session(region_name=args.region)
        )
    return load_latest_result(args.state_dir)
