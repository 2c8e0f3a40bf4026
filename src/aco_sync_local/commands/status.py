"""``aco-sync status``: the latest sync (when, status, per-TIN status, measures)."""

from __future__ import annotations

import argparse

from aco_sync_local.commands._common import add_json, add_stack, add_state_dir, error, load_result, print_json
from aco_sync_local.runner import LocalRunError
from aco_sync_local.summary import render_status, summary_json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status", help="show the latest local sync: status, per-TIN status, measures"
    )
    add_state_dir(parser)
    add_stack(parser)
    add_json(parser, "the aggregated measure results and per-TIN status")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        result = load_result(args)
    except LocalRunError as exc:
        return error(str(exc))
    if args.json:
        print_json(summary_json(result))
    else:
        print(render_status(result), end="")
    return 0
