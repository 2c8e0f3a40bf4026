"""The CLI behaves: --version, every subcommand described, documented exit codes, no traceback for a user
error (AWS region, closed pipes, missing files), progress events on a long sync."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aco_sync_local.cli import COMMANDS, cli, main
from aco_sync_local.runner import run_local_sync

SAMPLE_ACO = Path(__file__).resolve().parent / "fixtures" / "sample_aco"


def _aco_sync(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from aco_sync_local.cli import main; sys.exit(main())", *args]


def test_version_and_described_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("aco-sync ")
    assert main(["--help"]) == 0
    help_text = capsys.readouterr().out
    for name in COMMANDS:
        command = cli.commands[name]
        assert command.help and command.short_help, name
        assert f"  {name} " in help_text
    assert "Exit codes: 0 done, 1 problems found" in help_text


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert main(["status", "--no-such-option"]) == 2
    assert main(["qrda"]) == 2  # FILE... is required
    err = capsys.readouterr().err
    assert "Traceback" not in err and "No such command" in err


def test_stack_without_region_is_a_sentence_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    assert main(["status", "--stack", "X"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "aco-sync: error: no AWS region is configured: pass --region (e.g. --region us-east-1) "
        "or set AWS_REGION"
    )


@pytest.mark.parametrize("as_json", [False, True])
def test_a_closed_pipe_ends_quietly(as_json: bool, tmp_path: Path) -> None:
    from test_cli import make_result

    from aco_sync_local.runner import save_result

    result = make_result(tmp_path)
    history = result.executions[0]["history"]
    result.executions[0]["history"] = history * 2000  # ~1 MB of output: far more than a pipe holds
    save_result(result, tmp_path / "state")
    command = _aco_sync("history", "--state-dir", str(tmp_path / "state"), *(["--json"] if as_json else []))
    process = subprocess.run(
        f"{shlex.join(command)} | head -c 20 > /dev/null; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        timeout=120,
    )
    assert process.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored" line
    assert process.returncode in (0, 141)  # Click ends quietly; 141 when the pipe closes outside Click


def test_progress_reports_phases_states_and_each_clinic(tmp_path: Path) -> None:
    from aco_sync_local.moto_patches import add_invocation_listener, remove_invocation_listener

    lines: list[str] = []
    steps: list[tuple[str, Any]] = []

    def listener(function_name: str, event: Any) -> None:
        tin = event.get("tin") if isinstance(event, dict) else None
        steps.append((function_name.rsplit("-", 1)[-1], tin))

    add_invocation_listener(listener)
    try:
        result = run_local_sync(SAMPLE_ACO, state_dir=tmp_path / "state", progress=lines.append)
    finally:
        remove_invocation_listener(listener)
    assert result.succeeded and lines
    functions = [f for f, _ in steps]
    assert functions.index("AcquireAcoLockFunction") < functions.index("FinalizeMemberSyncFunction")
    clinics = {tin for f, tin in steps if f == "SyncMemberClinicFunction"}
    assert len(clinics) >= 2 and all(len(str(tin)) == 9 for tin in clinics)


def test_progress_display_is_off_without_a_terminal_and_with_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", str(SAMPLE_ACO), "--state-dir", str(tmp_path / "state")])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""  # no progress (stderr is not a terminal), no raw WARNING: lines
    assert out.startswith("Result: Sync Complete")
