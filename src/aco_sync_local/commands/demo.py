"""``aco-sync demo``: generate the demo ACO, sync it locally and print the summary."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from aco_sync_local.commands._common import add_json, add_state_dir, add_verbose, error
from aco_sync_local.commands.run import add_run_options, execute, show
from aco_sync_local.private_files import make_private_dir

DEMO_SEED = 2025


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="generate a realistic demo ACO and run a full local sync of it",
        description="Writes the demo ACO (several TINs with overlapping patients, CQM templates, "
        "QRDA-I files, an MCQM TIN, a roster) into a folder, then runs it like `aco-sync run`.",
    )
    parser.add_argument(
        "--folder",
        type=Path,
        default=None,
        help="where to write the demo ACO (default: <state-dir>/demo-aco; replaced on each run)",
    )
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help=f"demo data seed (default {DEMO_SEED})")
    add_json(parser, "the aggregated measure results and per-TIN status")
    add_state_dir(parser)
    add_verbose(parser)
    add_run_options(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        from aco_sync_local.demo_data import write_demo_aco
    except ModuleNotFoundError as exc:
        if exc.name != "aco_sync_local.demo_data":
            raise
        return error("the demo data generator (aco_sync_local.demo_data) is not available in this checkout")
    folder = args.folder or (args.state_dir / "demo-aco")
    if folder.exists():
        shutil.rmtree(folder)
    make_private_dir(folder)  # synthetic patients, but written like real input: private
    aco_id = write_demo_aco(folder, seed=args.seed)
    if not args.json:
        print(f"Demo ACO {aco_id} written to {folder}\n")
    outcome = execute(args, folder, aco_id)
    if isinstance(outcome, int):
        return outcome
    return show(args, outcome)
