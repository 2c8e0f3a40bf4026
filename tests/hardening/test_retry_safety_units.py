"""Unit tests of the two retry/concurrency fixes the hardening tests led to (fast, in-memory stores):
a retried step appends its sync-log entries once, and a sync reads the roster it pinned."""

from __future__ import annotations

from aco_sync.adapters.memory import InMemoryObjectStore, InMemorySyncStateStore
from aco_sync.adapters.ports import ActiveRoster, SyncRun
from aco_sync.domain.records import SyncLogEntry
from aco_sync.service.issues import append_log_once
from aco_sync.service.validation import pin_roster, roster_of_sync


class _Stores:
    def __init__(self) -> None:
        self.objects = InMemoryObjectStore()
        self.state = InMemorySyncStateStore()


def _entry(message: str, kind: str = "aggregation", tin: str | None = None) -> SyncLogEntry:
    return SyncLogEntry(kind=kind, message=message, tin=tin)


def test_a_retried_step_appends_its_log_entries_once() -> None:
    state = InMemorySyncStateStore()
    entries = [_entry("a"), _entry("b"), _entry("b")]  # a line logged twice in one attempt stays twice
    assert append_log_once(state, "A1", "s1", entries) == 3
    assert append_log_once(state, "A1", "s1", entries) == 0  # the retry
    assert [e.message for e in state.list_log("A1", "s1")] == ["a", "b", "b"]
    assert append_log_once(state, "A1", "s1", [*entries, _entry("c")]) == 1  # only what is new
    assert append_log_once(state, "A1", "s2", entries) == 3  # another sync logs its own


def test_already_logged_lets_a_step_keep_its_first_summary() -> None:
    state = InMemorySyncStateStore()
    append_log_once(state, "A1", "s1", [_entry("TIN 1: 20 added", kind="clinic", tin="1")])

    def same_tin(entry: SyncLogEntry, existing: list[SyncLogEntry]) -> bool:
        return any(e.kind == "clinic" and e.tin == entry.tin for e in existing)

    retry = [_entry("TIN 1: 0 added, 20 unchanged", kind="clinic", tin="1"), _entry("x", tin="1")]
    assert append_log_once(state, "A1", "s1", retry, already_logged=same_tin) == 0
    assert [e.message for e in state.list_log("A1", "s1")] == ["TIN 1: 20 added"]


def test_a_sync_reads_the_roster_it_pinned_not_a_newer_active_one() -> None:
    stores = _Stores()
    old = ActiveRoster("A1", 2025, "store/A1/rosters/2025/old.json", "old.csv", 10, 0, "2026-01-01T00:00:00Z")
    new = ActiveRoster("A1", 2025, "store/A1/rosters/2025/new.json", "new.csv", 8, 0, "2026-01-02T00:00:00Z")
    for sync_id in ("s0", "s1", "s2"):
        stores.state.put_sync_run(SyncRun("A1", sync_id, "Sync Running", "manual", "2026-01-01T00:00:00Z"))
    stores.state.set_active_roster(old)
    pin_roster(stores, "A1", "s1", old)  # type: ignore[arg-type]
    pin_roster(stores, "A1", "s0", None)  # type: ignore[arg-type]
    pin_roster(stores, "A1", "no-run", old)  # type: ignore[arg-type]  # nothing to pin to: no error
    stores.state.set_active_roster(new)  # uploaded while s1 runs
    assert roster_of_sync(stores, "A1", "s1", 2025) == old  # type: ignore[arg-type]
    assert roster_of_sync(stores, "A1", "s0", 2025) is None  # type: ignore[arg-type]
    assert roster_of_sync(stores, "A1", "s2", 2025) == new  # type: ignore[arg-type]  # not pinned: active


def test_a_file_of_many_bad_rows_is_a_bounded_number_of_log_entries() -> None:
    """Hostile volume: 300,000 rejected rows must not become 300,000 sync-log writes."""
    from aco_sync.domain.records import IngestIssue
    from aco_sync.service.issues import MAX_ISSUES_PER_FILE, issues_to_log

    issues = [IngestIssue(file="bad.csv", reason="the NPI is invalid", line=n) for n in range(2, 300_002)]
    issues += [IngestIssue(file="bad.csv", reason="unknown column", severity="warning", line=1)]
    issues += [IngestIssue(file="ok.csv", reason="one problem", line=5)]
    log = issues_to_log(issues, tin="123456789")
    bad = [e for e in log if e.file == "bad.csv"]
    assert len(bad) == MAX_ISSUES_PER_FILE + 1
    assert bad[-1].level == "error" and bad[-1].tin == "123456789"
    assert f"{300_000 - MAX_ISSUES_PER_FILE} more rejected rows and 1 more warnings" in bad[-1].message
    assert [e.message for e in log if e.file == "ok.csv"] == ["ok.csv, row 5: one problem"]
