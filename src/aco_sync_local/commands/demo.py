"""``aco-sync demo``: generate the demo ACO, sync it locally and print the summary."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import click

from aco_sync_local.commands.run import execute, run_options, show
from aco_sync_local.private_files import make_private_dir

DEMO_SEED = 2025


@click.command("demo", short_help="Generate a demo ACO and sync it locally.")
@click.option(
    "--folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where to write the demo ACO (default: <state-dir>/demo-aco; replaced on each run).",
)
@click.option("--seed", type=int, default=DEMO_SEED, show_default=True, help="Demo data seed.")
@run_options
def command(folder: Path | None, seed: int, **options: Any) -> int:
    """Generate a realistic demo ACO and run a full local sync of it.

    Writes the demo ACO (several TINs with overlapping patients, CQM templates, QRDA-I files, an MCQM
    TIN, a roster with a duplicate-name pair, a few deliberately bad rows) into a folder, then runs it
    like `aco-sync run`.
    """
    from aco_sync_local.demo_data import write_demo_aco

    folder = folder or (options["state_dir"] / "demo-aco")
    if folder.exists():
        shutil.rmtree(folder)
    make_private_dir(folder)  # synthetic patients, but written like real input: private
    aco_id = write_demo_aco(folder, seed=seed)
    if not options["as_json"]:
        click.echo(f"Demo ACO {aco_id} written to {folder}\n")
    result = execute(folder, aco_id, **options)
    return show(result, as_json=options["as_json"])
