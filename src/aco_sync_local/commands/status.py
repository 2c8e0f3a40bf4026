"""``aco-sync status``: the latest sync (when, status, per-TIN status, measures)."""

from __future__ import annotations

import argparse
from typing import Any

from aco_sync_local.commands._common import add_json, add_stack, add_state_dir, error, load_result, print_json
from aco_sync_local.runner import LocalRunError, list_state_syncs
from aco_sync_local.summary import render_status, summary_json, table


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
        if not getattr(args, "stack", None):
            print(render_syncs(result.aco_id, list_state_syncs(args.state_dir)), end="")
    return 0


def render_syncs(aco_id: str, syncs: list[dict[str, Any]]) -> str:
    """Every past sync of the ACO kept in the state folder, oldest first."""
    rows = [
        (s.get("started"), s.get("sync_id"), s.get("status"), s.get("trigger"), s.get("finished") or "-")
        for s in syncs
        if s.get("aco_id") == aco_id
    ]
    if not rows:
        return ""
    headers = ["Started", "Sync", "Status", "Trigger", "Finished"]
    return f"\nSyncs of {aco_id} ({len(rows)})\n" + table(headers, rows) + "\n"
