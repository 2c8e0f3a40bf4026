"""``aco-sync history``: the execution history of the latest sync (``--all``: every saved local sync)."""

from __future__ import annotations

from pathlib import Path

import click

from aco_sync_local.commands._common import (
    error,
    json_option,
    load_result,
    print_json,
    stack_options,
    state_dir_option,
)
from aco_sync_local.runner import list_saved_results, list_state_syncs
from aco_sync_local.summary import render_history, sync_header, table


@click.command("history", short_help="The execution history of the latest sync.")
@state_dir_option
@stack_options
@click.option("--all", "all_syncs", is_flag=True, help="List every saved local sync instead.")
@json_option("the executions and their histories")
def command(
    state_dir: Path,
    stack: str | None,
    aco_id: str | None,
    region: str | None,
    all_syncs: bool,
    as_json: bool,
) -> int:
    """Show the execution history of the latest sync, as the Step Functions console summarises it.

    Every state of the main sync and of its MCQM job: type, status, retries, duration, error.
    """
    if all_syncs:
        syncs = list_state_syncs(state_dir)
        if syncs:  # every sync recorded in the state file (skipped triggers included)
            keys = ["started", "finished", "aco_id", "sync_id", "status", "trigger"]
            if as_json:
                print_json([{k: s.get(k) for k in keys} for s in syncs])
            else:
                cells = [[s.get(k) or "-" for k in keys] for s in syncs]
                click.echo(table([k.title() for k in keys], cells, indent=""))
            return 0
        results = list_saved_results(state_dir)  # a state folder from before the state file
        if not results:
            return error(f"No local sync found in {state_dir}")
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
        if as_json:
            print_json(
                [
                    dict(zip(["finished_at", "aco_id", "sync_id", "status", "executions"], row, strict=True))
                    for row in rows
                ]
            )
        else:
            click.echo(table(["Finished", "ACO", "Sync", "Status", "Executions"], rows, indent=""))
        return 0
    result = load_result(state_dir, stack, aco_id, region)
    if as_json:
        print_json(result.executions)
    else:
        click.echo(sync_header(result) + "\n\n" + render_history(result))
    return 0
