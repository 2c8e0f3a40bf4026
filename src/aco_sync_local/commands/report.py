"""``aco-sync report``: where the latest sync's report.html is, and the ACO quality score."""

from __future__ import annotations

import argparse
import webbrowser
from pathlib import Path

from aco_sync_local.commands._common import add_state_dir, error
from aco_sync_local.runner import LocalRunError, load_latest_result
from aco_sync_local.summary import quality_score_lines


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report", help="print the path of the latest sync's report.html (and the score)"
    )
    add_state_dir(parser)
    parser.add_argument("--open", action="store_true", help="open the report in the default browser")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        result = load_latest_result(args.state_dir)
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
