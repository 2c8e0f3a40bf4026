"""Options and output shared by the local-run subcommands."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

from aco_sync_local.runner import DEFAULT_STATE_DIR, LocalSyncResult, load_latest_result


def add_state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"where local syncs are saved (default: ./{DEFAULT_STATE_DIR})",
    )


def add_json(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON on stdout")


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help="show the handlers' logs on stderr")


def quiet_handler_logs(verbose: bool) -> None:
    """The handlers log JSON (Powertools) to stdout; keep stdout for the summary unless --verbose."""
    import os

    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "aco-sync")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AcoSync")
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    if not verbose:  # Powertools warns on every handler without custom metrics
        warnings.filterwarnings("ignore", message="No application metrics to publish")
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)
    # moto's ASL interpreter logs every caught state failure at ERROR; the history shows them.
    logging.getLogger("moto").setLevel(logging.WARNING if verbose else logging.CRITICAL)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def error(message: str) -> int:
    print(f"aco-sync: error: {message}", file=sys.stderr)
    return 1


def add_stack(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", metavar="NAME", help="read the latest sync from a deployed stack instead")
    parser.add_argument(
        "--aco", dest="aco_id", help="with --stack: the ACO (default: the only configured one)"
    )
    parser.add_argument("--region", help="with --stack: the stack's region (default: boto3's configuration)")


def load_result(args: argparse.Namespace) -> LocalSyncResult:
    """The latest saved local sync, or with ``--stack`` the ACO's latest sync in a deployed stack."""
    if getattr(args, "stack", None):
        import boto3

        from aco_sync_local.deployed_stack import load_stack_sync

        return load_stack_sync(args.stack, args.aco_id, session=boto3.Session(region_name=args.region))
    return load_latest_result(args.state_dir)
