"""``aco-sync run <folder>``: a full local sync of a folder laid out like the data bucket."""

from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

from aco_sync_local.commands._common import (
    add_json,
    add_state_dir,
    add_verbose,
    error,
    print_json,
    quiet_handler_logs,
)
from aco_sync_local.local_aws import ExecutionsTimeoutError
from aco_sync_local.runner import DEFAULT_TIMEOUT_SECONDS, LocalRunError, LocalSyncResult, run_local_sync
from aco_sync_local.summary import render_summary, summary_json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a full sync of a local folder (laid out like the data bucket) in an embedded AWS",
        description="Deploys template.yaml into moto, uploads FOLDER, starts the sync through the start-sync "
        "Lambda and prints the execution history, per-TIN status, aggregated measures and decisions. "
        "See docs/LOCAL.md for the folder layout.",
    )
    parser.add_argument(
        "folder", type=Path, help="folder laid out like the data bucket (config/, rosters/, members/)"
    )
    parser.add_argument("--aco", dest="aco_id", help="ACO id (default: the only config/acos/<id>.json)")
    add_json(parser, "the aggregated measure results and per-TIN status")
    add_state_dir(parser)
    add_verbose(parser)
    add_run_options(parser)
    parser.set_defaults(func=main)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--real-retry-delays",
        action="store_true",
        help="wait the ASL's Retry intervals for real (default: retries happen instantly)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help=f"seconds to wait for the executions (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )


def execute(args: argparse.Namespace, folder: Path, aco_id: str | None) -> LocalSyncResult | int:
    """Run the sync; returns the result or an exit code after printing the error."""
    quiet_handler_logs(args.verbose)
    captured = io.StringIO()
    try:
        # Handler logs go to stdout (as on Lambda); keep stdout for our summary unless --verbose.
        with contextlib.nullcontext() if args.verbose else contextlib.redirect_stdout(captured):
            return run_local_sync(
                folder,
                aco_id=aco_id,
                state_dir=args.state_dir,
                fast_retries=not args.real_retry_delays,
                timeout=args.timeout,
                handler_log_level=None if args.verbose else "ERROR",
            )
    except (LocalRunError, ExecutionsTimeoutError, FileNotFoundError) as exc:
        return error(str(exc))


def show(args: argparse.Namespace, result: LocalSyncResult) -> int:
    if args.json:
        print_json(summary_json(result))
    else:
        print(render_summary(result), end="")
    return 0 if result.succeeded and not result.failed_clinics else 1  # a failed clinic is a failure


def main(args: argparse.Namespace) -> int:
    outcome = execute(args, args.folder, args.aco_id)
    if isinstance(outcome, int):
        return outcome
    return show(args, outcome)
