"""Unit tests of the switchable parts of the moto patches and of the execution wait."""

from __future__ import annotations

from pathlib import Path

import pytest

from aco_sync_local import moto_patches
from aco_sync_local.executions import ExecutionsTimeoutError
from aco_sync_local.local_aws import ExecutionSummary, LocalAws


class RecordingTime:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def test_retry_sleeps_are_real_unless_fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = RecordingTime()
    monkeypatch.setattr(moto_patches._retry_wakeup, "wait", clock.sleep)
    retrier_clock = moto_patches._RetrierClock()
    previous = moto_patches.fast_retries_enabled()
    try:
        moto_patches.set_fast_retries(False)
        retrier_clock.sleep(30)
        moto_patches.set_fast_retries(True)
        retrier_clock.sleep(60)
    finally:
        moto_patches.set_fast_retries(previous)
    assert clock.sleeps == [30]


def test_turning_fast_retries_on_ends_the_waits_in_progress() -> None:
    import threading

    previous = moto_patches.fast_retries_enabled()
    moto_patches.set_fast_retries(False)
    sleeper = threading.Thread(target=moto_patches._RetrierClock.sleep, args=(600,))
    try:
        sleeper.start()
        sleeper.join(0.1)
        assert sleeper.is_alive()  # a real wait
        moto_patches.set_fast_retries(True)
        sleeper.join(5)
        assert not sleeper.is_alive()
    finally:
        moto_patches.set_fast_retries(previous)


def test_patches_apply_once() -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    moto_patches.apply_moto_patches()
    patched = LambdaSimpleBackend.invoke
    moto_patches.apply_moto_patches()
    assert LambdaSimpleBackend.invoke is patched
    assert patched.__wrapped__ is not patched  # type: ignore[attr-defined]


def test_unhandled_exception_payload_matches_the_python_runtime(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "class RosterGoneError(Exception):\n    pass\n\n"
        "def lambda_handler(event, context):\n"
        "    if event.get('fail'):\n        raise RosterGoneError('no roster for ' + context.function_name)\n"
        "    return {'echo': event, 'remaining': context.get_remaining_time_in_millis() > 0}\n"
    )
    moto_patches.register_function_code("unit-fn", tmp_path, "app.lambda_handler")

    ok, ok_errored = moto_patches.invoke_in_process("unit-fn", "arn:fn", b'{"a": 1}')
    failed, errored = moto_patches.invoke_in_process("unit-fn", "arn:fn", '{"fail": true}')

    assert (ok, ok_errored) == (b'{"echo": {"a": 1}, "remaining": true}', False)
    assert errored is True
    import json

    payload = json.loads(failed)
    assert payload["errorType"] == "RosterGoneError"
    assert payload["errorMessage"] == "no roster for unit-fn"
    assert any("RosterGoneError" in line for line in payload["stackTrace"])


def test_missing_handler_module_is_a_function_error(tmp_path: Path) -> None:
    moto_patches.register_function_code("no-module-fn", tmp_path, "handler.main")
    payload, errored = moto_patches.invoke_in_process("no-module-fn", "arn:fn", b"{}")
    assert errored is True
    assert b"FileNotFoundError" in payload


def test_wait_for_executions_times_out_with_the_running_ones_named(monkeypatch: pytest.MonkeyPatch) -> None:
    running = ExecutionSummary(
        execution_arn="arn:x", state_machine="MainStateMachine", name="stuck", status="RUNNING",
        start="2026-01-01T00:00:00", stop=None, duration_ms=None,
    )  # fmt: skip
    aws = LocalAws(Path("unused.yaml"))
    monkeypatch.setattr(aws, "_execution_arns", lambda: iter(["arn:x"]))
    monkeypatch.setattr(aws, "describe_execution", lambda arn: running)
    with pytest.raises(
        ExecutionsTimeoutError, match=r"1 execution\(s\) still RUNNING after 0.1s: MainStateMachine/stuck"
    ):
        aws.wait_for_executions(timeout=0.1, poll_interval=0.01)


def test_each_function_serves_one_invocation_at_a_time_and_may_nest(tmp_path: Path) -> None:
    import json
    import threading

    (tmp_path / "app.py").write_text(
        "import time\n"
        "from aco_sync_local import moto_patches\n"
        "active = []\n"
        "peak = [0]\n\n"
        "def lambda_handler(event, context):\n"
        "    active.append(1)\n"
        "    peak[0] = max(peak[0], len(active))\n"
        "    time.sleep(0.02)\n"
        "    nested = None\n"
        "    if event.get('nest'):\n"
        "        nested = moto_patches.invoke_in_process(context.function_name, 'arn', b'{}')[0].decode()\n"
        "    active.pop()\n"
        "    return {'peak': peak[0], 'nested': nested}\n"
    )
    moto_patches.register_function_code("serial-fn", tmp_path, "app.lambda_handler")

    results: list[bytes] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(moto_patches.invoke_in_process("serial-fn", "arn", b"{}")[0])
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    nested, errored = moto_patches.invoke_in_process("serial-fn", "arn", b'{"nest": true}')

    assert [json.loads(r)["peak"] for r in results] == [1] * 6
    assert errored is False
    # Re-entrant: the handler invoked itself synchronously from inside an invocation (no deadlock).
    assert json.loads(nested) == {"peak": 2, "nested": json.dumps({"peak": 2, "nested": None})}


def test_different_functions_run_side_by_side(tmp_path: Path) -> None:
    """A step blocked in one function (a long clinic sync) must not block another execution."""
    import threading

    gate = threading.Event()
    waiting = tmp_path / "waiting"
    opening = tmp_path / "opening"
    for folder in (waiting, opening):
        folder.mkdir()
    (waiting / "app.py").write_text(
        "import builtins\n\ndef lambda_handler(event, context):\n    return builtins._test_gate.wait(10)\n"
    )
    (opening / "app.py").write_text(
        "import builtins\n\n"
        "def lambda_handler(event, context):\n    builtins._test_gate.set()\n    return 'opened'\n"
    )
    import builtins

    builtins._test_gate = gate  # type: ignore[attr-defined]
    moto_patches.register_function_code("gate-waiting", waiting, "app.lambda_handler")
    moto_patches.register_function_code("gate-opening", opening, "app.lambda_handler")
    outcome: list[tuple[bytes, bool]] = []
    try:
        blocked = threading.Thread(
            target=lambda: outcome.append(moto_patches.invoke_in_process("gate-waiting", "arn", b"{}"))
        )
        blocked.start()
        assert moto_patches.invoke_in_process("gate-opening", "arn", b"{}") == (b'"opened"', False)
        blocked.join(10)
    finally:
        del builtins._test_gate  # type: ignore[attr-defined]
    assert outcome == [(b"true", False)]
