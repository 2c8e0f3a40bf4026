"""The reviewer's decisions on probable duplicates: ``reviews/<aco_id>/duplicate-decisions.csv``.

Columns ``master_pat_id_a``, ``master_pat_id_b``, ``decision`` (``same`` or ``not_same``; blank: not yet
reviewed); any other column is ignored, so a reviewer can fill the ``decision`` column of the sync's
``probable-duplicates.csv`` and upload that file here. The next sync applies the decisions
(:func:`aco_sync.domain.dedup.apply_duplicate_decisions`) and logs each one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aco_sync.domain.records import IngestIssue
from aco_sync.ingest.tabular import Table, TableError, did_you_mean, find_columns, read_table

DECISIONS_FILE = "duplicate-decisions.csv"
COLUMNS: dict[str, tuple[str, ...]] = {
    "master_pat_id_a": ("patient_a", "master_pat_id_1"),
    "master_pat_id_b": ("patient_b", "master_pat_id_2"),
    "decision": ("review", "reviewer_decision"),
}
DECISIONS = {"same": "same", "same_person": "same", "not_same": "not_same", "different": "not_same"}
_MASTER_ID = re.compile(r"MP[0-9A-F]{16}")


def decisions_key(aco_id: str) -> str:
    return f"reviews/{aco_id}/{DECISIONS_FILE}"


@dataclass(frozen=True, slots=True)
class DuplicateDecision:
    master_pat_id_a: str  # the smaller id
    master_pat_id_b: str
    decision: str  # "same" | "not_same"
    line: int


@dataclass(slots=True)
class DecisionsReadResult:
    decisions: list[DuplicateDecision] = field(default_factory=list)
    issues: list[IngestIssue] = field(default_factory=list)


def read_duplicate_decisions(file_name: str, data: bytes) -> DecisionsReadResult:
    """Read the decisions file; bad rows are reported (file, row) and skipped. Never raises."""
    result = DecisionsReadResult()
    try:
        table = read_table(file_name, data)
        _read_rows(table, result)
    except TableError as exc:  # the file (or, mid-way, its size or structure) cannot be read
        return DecisionsReadResult(
            issues=[IngestIssue(file=file_name, reason=exc.reason, line=exc.line, code=exc.code)]
        )
    result.issues = table.issues.finish()
    return result


def _read_rows(table: Table, result: DecisionsReadResult) -> None:
    file_name = table.file_name
    columns = find_columns(table.header, COLUMNS)
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        table.issues.add(
            IngestIssue(
                file=file_name,
                line=1,
                reason=f"The duplicate decisions file has no {', '.join(missing)} column."
                + did_you_mean(table.header, COLUMNS, missing),
                code="missing_column",
            )
        )
        for _ in table.rows:  # drain: the table reader's own row problems are still counted
            pass
        return
    for row in table.rows:
        a = row.values.get(columns["master_pat_id_a"], "").upper()
        b = row.values.get(columns["master_pat_id_b"], "").upper()
        raw = row.values.get(columns["decision"], "").strip().lower().replace(" ", "_").replace("-", "_")
        if not raw:
            continue  # not reviewed yet
        problems = []
        if not _MASTER_ID.fullmatch(a) or not _MASTER_ID.fullmatch(b) or a == b:
            problems.append("it needs two different MASTER_PAT_IDs (MP + 16 hex digits)")
        if raw not in DECISIONS:
            problems.append("the decision must be `same` or `not_same`")
        if problems:
            table.issues.add(
                IngestIssue(
                    file=file_name,
                    line=row.line,
                    reason=f"Row {row.line} ignored: {'; '.join(problems)}.",
                    code="invalid_decision",
                )
            )
            continue
        low, high = sorted((a, b))
        result.decisions.append(DuplicateDecision(low, high, DECISIONS[raw], row.line))
