"""The ``aco-sync`` command (Click). Each subcommand lives in ``aco_sync_local/commands/<name>.py`` as a
``click.Command`` named ``command`` that returns its exit code.

``main(argv)`` runs it and returns the exit code; it never lets a traceback reach the user for a user
error (bad option, missing file, AWS region or credentials, a closed pipe): exit codes in
``aco_sync_local.commands._common`` and docs/LOCAL.md.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib.metadata import PackageNotFoundError, version

import click

from aco_sync_local.commands._common import (
    EXIT_INTERRUPTED,
    EXIT_PIPE_CLOSED,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    CommandError,
    LocalRunError,
    aws_error_message,
)

COMMANDS = ["demo", "run", "validate", "status", "history", "report", "qrda", "measure", "roster-confirm"]


def _version() -> str:
    try:
        return version("aco-sync")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


class _Commands(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order a user needs them, not alphabetical


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Exit codes: 0 done, 1 problems found (or the sync did not complete), 2 usage error. "
    "Docs: README.md and docs/LOCAL.md.",
)
@click.version_option(_version(), "-V", "--version", prog_name="aco-sync", message="%(prog)s %(version)s")
def cli() -> None:
    """ACO Sync: turn member clinics' quality data into the ACO's quality results, score and CMS files.

    Check an upload folder with `validate`, sync it locally with `run` (or try `demo`), then read the
    result with `status`, `history` and `report`.
    """


for _name in COMMANDS:
    cli.add_command(importlib.import_module(f"aco_sync_local.commands.{_name.replace('-', '_')}").command)


def _close_stdout_quietly() -> None:
    """After a closed pipe: point stdout at /dev/null so the interpreter's final flush does not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pytest's capture has no real file descriptor
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    try:
        try:
            result = cli.main(args=argv, prog_name="aco-sync", standalone_mode=False)
        finally:
            sys.stdout.flush()
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.UsageError as exc:
        exc.show()
        return EXIT_USAGE
    except click.Abort:
        click.echo("aco-sync: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except BrokenPipeError:
        _close_stdout_quietly()
        return EXIT_PIPE_CLOSED
    except KeyboardInterrupt:
        click.echo("aco-sync: interrupted", err=True)
        return EXIT_INTERRUPTED
    except CommandError as exc:
        click.echo(f"aco-sync: error: {exc.message}", err=True)
        return exc.code
    except LocalRunError as exc:
        click.echo(f"aco-sync: error: {exc}", err=True)
        return EXIT_PROBLEMS
    except Exception as exc:
        message = aws_error_message(exc)
        if message is None:
            if os.environ.get("ACO_SYNC_DEBUG"):
                raise
            message = (
                f"unexpected {type(exc).__name__}: {exc} (this is a bug in ACO Sync; set ACO_SYNC_DEBUG=1 "
                "to see where it happened and report it)"
            )
        click.echo(f"aco-sync: error: {message}", err=True)
        return EXIT_PROBLEMS
    return int(result or 0)


def entry_point() -> None:  # pragma: no cover - the console script
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
