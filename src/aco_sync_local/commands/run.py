"""``aco-sync run <folder>``: a full local sync of a folder laid out like the data bucket."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from aco_sync_local.commands._common import (
    CommandError,
    json_option,
    print_json,
    quiet_handler_logs,
    state_dir_option,
    verbose_option,
)
from aco_sync_local.executions import ExecutionsTimeoutError
from aco_sync_local.runner import DEFAULT_TIMEOUT_SECONDS, LocalRunError, LocalSyncResult, run_local_sync
from aco_sync_local.summary import render_summary, summary_json

F = TypeVar("F", bound=Callable[..., Any])

STEPS = {
    "StartSyncFunction": "Starting the sync",
    "AcquireLockFunction": "Acquiring the ACO lock",
    "ValidateRosterFunction": "Validating the roster",
    "InitialSyncFunction": "Initial sync (providers, measure plan)",
    "CleanupFunction": "Cleaning up removed encounters",
    "SyncClinicFunction": "Syncing member clinics",
    "RecordClinicFailureFunction": "Recording a clinic failure",
    "FinalizeFunction": "De-duplicating and aggregating",
    "McqmSyncFunction": "MCQM: matching patients with the roster",
    "UpdateStatsFunction": "Scoring and writing the reports",
    "ClinicStatsWorkerFunction": "Computing per-TIN stats",
    "RecordSyncStatusFunction": "Recording the sync status",
    "ReleaseLockFunction": "Releasing the ACO lock",
    "IngestRosterFunction": "Ingesting the roster",
}


def run_options(func: F) -> F:
    func = click.option(
        "--timeout",
        type=click.FloatRange(min=1),
        default=DEFAULT_TIMEOUT_SECONDS,
        show_default=True,
        help="Seconds to wait for the executions.",
    )(func)
    func = click.option(
        "--real-retry-delays",
        is_flag=True,
        help="Wait the ASL's Retry intervals for real (default: retries happen instantly).",
    )(func)
    func = click.option(
        "--progress/--no-progress",
        default=None,
        help="Show progress on stderr (default: on when stderr is a terminal and without --json).",
    )(func)
    func = verbose_option(func)
    func = state_dir_option(func)
    return json_option("the aggregated measure results and per-TIN status")(func)


@click.command("run", short_help="Sync a local folder (laid out like the data bucket).")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="FOLDER")
@click.option("--aco", "aco_id", help="ACO id (default: the only config/acos/<id>.json).")
@run_options
def command(folder: Path, aco_id: str | None, **options: Any) -> int:
    """Run a full sync of FOLDER (laid out like the data bucket) in an embedded AWS.

    Deploys template.yaml into moto, uploads FOLDER, starts the sync through the start-sync Lambda and
    prints the result first, then what to fix, the details, every file written and the next steps.
    Check the folder first with `aco-sync validate FOLDER`. Layout: docs/LOCAL.md.
    """
    result = execute(folder, aco_id, **options)
    return show(result, as_json=options["as_json"])


def execute(
    folder: Path,
    aco_id: str | None,
    *,
    as_json: bool,
    state_dir: Path,
    verbose: bool,
    real_retry_delays: bool,
    timeout: float,
    progress: bool | None,
) -> LocalSyncResult:
    """Run the sync (with a progress display when wanted); a failure to run raises CommandError."""
    quiet_handler_logs(verbose)
    show_progress = (not as_json and not verbose and sys.stderr.isatty()) if progress is None else progress
    captured = io.StringIO()
    try:
        with (
            _progress_display(folder, aco_id, enabled=show_progress) as on_progress,
            contextlib.nullcontext() if verbose else contextlib.redirect_stdout(captured),
        ):
            # Handler logs go to stdout (as on Lambda); keep stdout for our summary unless --verbose.
            return run_local_sync(
                folder,
                aco_id=aco_id,
                state_dir=state_dir,
                fast_retries=not real_retry_delays,
                timeout=timeout,
                handler_log_level=None if verbose else "ERROR",
                progress=on_progress,
            )
    except ExecutionsTimeoutError as exc:
        raise CommandError(f"{exc} (raise --timeout for a large ACO)") from None
    except (LocalRunError, FileNotFoundError) as exc:
        raise CommandError(str(exc)) from None


def _clinic_count(folder: Path, aco_id: str | None) -> int | None:
    configs = sorted((folder / "config" / "acos").glob(f"{aco_id or '*'}.json"))
    if len(configs) != 1:
        return None
    try:
        clinics = json.loads(configs[0].read_text(encoding="utf-8")).get("member_clinics") or []
    except (OSError, ValueError, AttributeError):
        return None
    return len(clinics) or None


@contextlib.contextmanager
def _progress_display(
    folder: Path, aco_id: str | None, *, enabled: bool
) -> Iterator[Callable[[str], None] | None]:
    """A Rich progress display on stderr: the runner's phase, the state whose function runs now (moto's
    in-process invocations) and a bar of the member clinics synced."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from aco_sync_local.functions import add_invocation_listener, remove_invocation_listener

    total = _clinic_count(folder, aco_id)
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        step = bar.add_task("Starting", total=None)
        clinics = bar.add_task("Member clinics synced", total=total, visible=False)
        seen: set[str] = set()

        def on_phase(line: str) -> None:
            bar.update(step, description=line.strip() or "Working")

        def on_invocation(function_name: str, event: Any) -> None:
            function = function_name.rsplit("-", 1)[-1]
            label = STEPS.get(function, function)
            tin = event.get("tin") if isinstance(event, dict) else None
            if function == "SyncClinicFunction" and tin:
                label += f" (TIN {tin})"
                if tin not in seen:
                    if seen:
                        bar.advance(clinics)
                    seen.add(str(tin))
                bar.update(clinics, visible=True)
            elif function == "FinalizeFunction" and seen:
                bar.update(clinics, completed=len(seen))
            bar.update(step, description=label)

        add_invocation_listener(on_invocation)
        try:
            yield on_phase
        finally:
            remove_invocation_listener(on_invocation)


def show(result: LocalSyncResult, *, as_json: bool) -> int:
    if as_json:
        print_json(summary_json(result))
    else:
        click.echo(render_summary(result), nl=False)
    return 0 if result.succeeded and not result.failed_clinics else 1  # a failed clinic is a failure


__all__ = ["command", "execute", "run_options", "show"]
