"""``aco-sync status``: the latest sync (when, status, per-TIN status and completeness, measures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from aco_sync_local.commands._common import (
    json_option,
    load_result,
    print_json,
    stack_options,
    state_dir_option,
)
from aco_sync_local.runner import list_state_syncs
from aco_sync_local.summary import render_status, summary_json, table


@click.command("status", short_help="The latest sync: result, per-TIN status, measures.")
@state_dir_option
@stack_options
@json_option("the aggregated measure results and per-TIN status")
def command(state_dir: Path, stack: str | None, aco_id: str | None, region: str | None, as_json: bool) -> int:
    """Show the latest sync: result, per-TIN status and data completeness, aggregated measures.

    Reads the latest local sync (saved by `run`/`demo`), or with --stack the ACO's latest sync in a
    deployed stack.
    """
    result = load_result(state_dir, stack, aco_id, region)
    if as_json:
        print_json(summary_json(result))
    else:
        click.echo(render_status(result), nl=False)
        if not stack:
            click.echo(render_syncs(result.aco_id, list_state_syncs(state_dir)), nl=False)
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
