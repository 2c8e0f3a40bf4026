"""Ingest issues (file, row, reason; never PHI) as sync log entries."""

from __future__ import annotations

from collections.abc import Iterable

from aco_sync.domain.records import IngestIssue, SyncLogEntry


def issues_to_log(issues: Iterable[IngestIssue], *, tin: str | None = None) -> list[SyncLogEntry]:
    return [
        SyncLogEntry(
            kind="ingest_error" if issue.severity == "error" else "ingest_warning",
            level="error" if issue.severity == "error" else "warning",
            message=_with_location(issue),
            tin=issue.tin or tin,
            file=issue.file,
            line=issue.line,
        )
        for issue in issues
    ]


def _with_location(issue: IngestIssue) -> str:
    where = f"{issue.file}, row {issue.line}" if issue.line is not None else issue.file
    return f"{where}: {issue.reason}"
