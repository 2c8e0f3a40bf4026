"""Options, output and errors shared by the subcommands (Click).

Exit codes (docs/LOCAL.md, "Exit codes"): 0 done; 1 the command ran and found problems (a sync that did
not complete, validation errors, a rejected file, no saved sync, AWS refused or unreachable); 2 usage
(unknown command or option, a bad option value, a folder or file that does not exist); 130 interrupted;
141 the output was closed early (``| head``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from aco_sync_local.runner import DEFAULT_STATE_DIR, LocalRunError, LocalSyncResult, load_latest_result

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141

F = TypeVar("F", bound=Callable[..., Any])


class CommandError(Exception):
    """A user-facing failure: printed as ``aco-sync: error: <message>``, exit code ``code``."""

    def __init__(self, message: str, code: int = EXIT_PROBLEMS) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def state_dir_option(func: F) -> F:
    return click.option(
        "--state-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=DEFAULT_STATE_DIR,
        show_default=True,
        help="Where local syncs are saved.",
    )(func)


def json_option(what: str) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON on stdout.")(func)

    return decorate


def verbose_option(func: F) -> F:
    return click.option(
        "-v", "--verbose", is_flag=True, help="Show the handlers' logs (stdout) and moto's (stderr)."
    )(func)


def stack_options(func: F) -> F:
    func = click.option(
        "--region", help="With --stack: the stack's region (default: your AWS configuration)."
    )(func)
    func = click.option("--aco", "aco_id", help="With --stack: the ACO (default: the only configured one).")(
        func
    )
    return click.option(
        "--stack", metavar="NAME", help="Read the latest sync from a deployed stack instead."
    )(func)


def quiet_handler_logs(verbose: bool) -> None:
    """The handlers log JSON (Powertools) to stdout; keep stdout for the summary unless --verbose."""
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "aco-sync")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AcoSync")
    # Our own warnings read like the rest of the CLI's messages (never "WARNING:aco_sync_local.runner:").
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="aco-sync: %(levelname)s: %(message)s" if verbose else "aco-sync: %(message)s",
    )
    if not verbose:  # Powertools warns on every handler without custom metrics
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        # the summary shows what these would say (roster files not ingested, ...)
        logging.getLogger("aco_sync_local").setLevel(logging.ERROR)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)
    # moto's ASL interpreter logs every caught state failure at ERROR; the history shows them.
    logging.getLogger("moto").setLevel(logging.WARNING if verbose else logging.CRITICAL)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def error(message: str) -> int:
    click.echo(f"aco-sync: error: {message}", err=True)
    return EXIT_PROBLEMS


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 member clinic``, ``2 member clinics``."""
    return f"{count:,} {singular if count == 1 else (plural_form or singular + 's')}"


def load_result(
    state_dir: Path, stack: str | None, aco_id: str | None, region: str | None
) -> LocalSyncResult:
    """The latest saved local sync, or with ``--stack`` the ACO's latest sync in a deployed stack."""
    if stack:
        import boto3

        from aco_sync_local.deployed_stack import load_stack_sync

        return load_stack_sync(stack, aco_id, session=boto3.Session(region_name=region))
    return load_latest_result(state_dir)


def aws_error_message(exc: Exception) -> str | None:
    """A plain sentence for the AWS errors a user can fix (region, credentials, network, access), else
    None. Never a traceback."""
    try:
        from botocore import exceptions as boto
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return None
    if isinstance(exc, boto.NoRegionError):
        return "no AWS region is configured: pass --region (e.g. --region us-east-1) or set AWS_REGION"
    if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
        return (
            "no AWS credentials were found: configure them (`aws configure`, AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
        )
    if isinstance(exc, boto.ProfileNotFound):
        return f"the AWS profile does not exist ({exc})"
    if isinstance(exc, boto.EndpointConnectionError | boto.ConnectTimeoutError | boto.ReadTimeoutError):
        return f"AWS could not be reached ({exc}); check the region and your network"
    if isinstance(exc, boto.ClientError):
        info = exc.response.get("Error", {})
        code = info.get("Code", "Error")
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            return "your AWS credentials have expired; sign in again"
        if code in ("AccessDenied", "AccessDeniedException", "UnrecognizedClientException"):
            return f"AWS refused the request ({code}): your credentials may not allow it"
        return f"AWS refused the request ({code}: {info.get('Message', '')})"
    if isinstance(exc, boto.BotoCoreError):
        return f"AWS error: {exc}"
    return None


__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PIPE_CLOSED",
    "EXIT_PROBLEMS",
    "EXIT_USAGE",
    "CommandError",
    "LocalRunError",
    "aws_error_message",
    "error",
    "json_option",
    "load_result",
    "plural",
    "print_json",
    "quiet_handler_logs",
    "stack_options",
    "state_dir_option",
    "verbose_option",
]
