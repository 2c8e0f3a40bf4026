"""``aco-sync history``: the execution history of the latest sync (``--all``: every saved local sync)."""

from __future__ import annotations

import argparse

from aco_sync_local.commands._common import add_json, add_stack, add_state_dir, error, load_result, print_json
from aco_sync_local.runner import LocalRunError, list_saved_results, list_state_syncs
from aco_sync_local.summary import render_history, sync_header, table


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("history", help="show the execution history of the latest local sync")
    add_state_dir(parser)
    add_stack(parser)
    parser.add_argument("--all", action="store_true", help="list every saved local sync instead")
    add_json(parser, "the executions and their histories")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.all:
        try:
            syncs = list_state_syncs(args.state_dir)
        except LocalRunError as exc:
            return error(str(exc))
        if syncs:  # every sync recorded in the state file (skipped triggers included)
            keys = ["started", "finished", "aco_id", "sync_id", "status", "trigger"]
            if args.json:
                print_json([{k: s.get(k) for k in keys} for s in syncs])
            else:
                cells = [[s.get(k) or "-" for k in keys] for s in syncs]
                print(table([k.title() for k in keys], cells, indent=""))
            return 0
        results = list_saved_results(args.state_dir)  # a state folder from before the state file
        if not results:
            return error(f"No local sync found in {args.state_dir}")
        rows = [
            (
                r.finished_at,
                r.aco_id,
                (r.sync or {}).get("sync_id"),
                (r.sync or {}).get("status"),
                ", ".join(f"{e.get('state_machine')} {e.get('status')}" for e in r.executions),
            )
            for r in results
        ]
        if args.json:
            print_json(
                [
                    dict(zip(["finished_at", "aco_id", "sync_id", "status", "executions"], row, strict=True))
                    for row in rows
                ]
            )
        else:
            print(table(["Finished", "ACO", "Sync", "Status", "Executions"], rows, indent=""))
        return 0
    try:
        result = load_result(args)
    except LocalRunError as exc:
        return error(str(exc))
    if args.json:
        print_json(result.executions)
    else:
        print(sync_header(result) + "\n\n" + render_history(result))
    return 0
