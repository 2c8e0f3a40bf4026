"""The ``aco-sync`` command. Each subcommand lives in ``aco_sync_local/commands/<name>.py`` and
exposes ``register(subparsers)``, which adds its parser and sets ``func`` (returns an exit code)."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ["demo", "run", "status", "history", "report", "qrda", "validate", "measure", "roster"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aco-sync", description="ACO Sync: aggregate ACO quality data.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"aco_sync_local.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"aco_sync_local.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
