"""Ingest issues (file, row, reason; never PHI) as sync log entries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from aco_sync.adapters.ports import SyncStateStore
from aco_sync.domain.records import IngestIssue, SyncLogEntry

MAX_ISSUES_PER_FILE = 200  # listed one by one in the sync log; the rest are counted in one line


def issues_to_log(
    issues: Iterable[IngestIssue], *, tin: str | None = None, max_per_file: int = MAX_ISSUES_PER_FILE
) -> list[SyncLogEntry]:
    """One sync log entry per issue, at most ``max_per_file`` per file: a file of a million bad rows
    must not turn into a million log writes. The rest of a file's issues become one counting line
    (the file's validation counts still include every row)."""
    entries: list[SyncLogEntry] = []
    listed: Counter[str] = Counter()
    unlisted: dict[str, Counter[str]] = {}
    for issue in issues:
        if listed[issue.file] >= max_per_file:
            unlisted.setdefault(issue.file, Counter())[issue.severity] += 1
            continue
        listed[issue.file] += 1
        entries.append(
            SyncLogEntry(
                kind="ingest_error" if issue.severity == "error" else "ingest_warning",
                level="error" if issue.severity == "error" else "warning",
                message=_with_location(issue),
                tin=issue.tin or tin,
                file=issue.file,
                line=issue.line,
            )
        )
    for file, counts in unlisted.items():
        errors, warnings = counts.get("error", 0), counts.get("warning", 0)
        entries.append(
            SyncLogEntry(
                kind="ingest_error" if errors else "ingest_warning",
                level="error" if errors else "warning",
                message=f"{file}: {errors} more rejected rows and {warnings} more warnings are not listed "
                f"(only the first {max_per_file} problems of a file are listed)",
                tin=tin,
                file=file,
            )
        )
    return entries


def _with_location(issue: IngestIssue) -> str:
    unit = "line" if ".xml" in issue.file.lower() else "row"  # XML files have lines, tables have rows
    where = f"{issue.file}, {unit} {issue.line}" if issue.line is not None else issue.file
    return f"{where}: {issue.reason}"


def append_log_once(
    state: SyncStateStore,
    aco_id: str,
    sync_id: str,
    entries: Sequence[SyncLogEntry],
    *,
    already_logged: Callable[[SyncLogEntry, list[SyncLogEntry]], bool] | None = None,
) -> int:
    """Append to the sync log the entries a retried step has not logged yet in this sync.

    A step that crashed after writing its log (a timeout, a lost connection) is retried by the state
    machine; without this its findings would appear twice. Identical entries are counted, so a step
    that logs the same line twice in one attempt keeps both. ``already_logged(entry, existing)`` may
    mark further entries as logged (e.g. a clinic's summary line, whose counts differ per attempt).
    Returns the number of entries appended."""
    existing = state.list_log(aco_id, sync_id)
    remaining = Counter(existing)
    new: list[SyncLogEntry] = []
    for entry in entries:
        if remaining[entry] > 0:
            remaining[entry] -= 1
        elif already_logged is None or not already_logged(entry, existing):
            new.append(entry)
    if new:
        state.append_log(aco_id, sync_id, new)
    return len(new)
