"""A local worker process serves every function's Map iterations in turn (AWS gives each function its own
containers): after each invocation, failed ones included, it collects and hands freed memory back to
the system, so the heap one engine partition left behind does not stay under the next one's (measured:
the 1M-record run's peak worker RSS 1.66 GB -> 0.82 GB, docs/PERFORMANCE.md)."""

from __future__ import annotations

import pytest

from aco_sync_local import local_stack


def test_memory_is_released_after_every_invocation_failed_ones_too(monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []

    def invoke(name: str, arn: str, body: str) -> tuple[bytes, bool]:
        events.append(f"invoke {name}")
        if body == "boom":
            raise RuntimeError("the handler crashed")
        return b"{}", False

    monkeypatch.setattr(local_stack, "invoke_in_process", invoke)
    monkeypatch.setattr(local_stack, "_release_memory", lambda: events.append("release"))
    assert local_stack._worker_invoke("SyncMemberClinic", "arn:1", "{}") == (b"{}", False)
    with pytest.raises(RuntimeError):
        local_stack._worker_invoke("MatchRoster", "arn:2", "boom")
    assert events == ["invoke SyncMemberClinic", "release", "invoke MatchRoster", "release"]
    local_stack._release_memory()  # the real one: no error whether or not the C library has malloc_trim


def test_only_growth_since_the_start_or_the_last_release_is_released(monkeypatch: pytest.MonkeyPatch) -> None:
    collections: list[int] = []
    resident = [700.0]  # a worker forked from a big parent (a test run): that heap is not growth
    monkeypatch.setattr(local_stack.gc, "collect", lambda: collections.append(1) or 0)
    monkeypatch.setattr(local_stack, "_resident_mb", lambda: resident[0])
    monkeypatch.setattr(local_stack, "_released_at", 700.0)  # what _worker_init reads at the start
    for _ in range(50):  # small invocations
        local_stack._release_memory()
    assert collections == []
    resident[0] = 1_200.0  # an engine partition
    local_stack._release_memory()
    assert collections == [1]
    local_stack._release_memory()  # what stays after the release is the new base
    assert collections == [1]
