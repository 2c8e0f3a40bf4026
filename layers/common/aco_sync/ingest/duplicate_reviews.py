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
from aco_sync.ingest.table_spec import TableSpec, read_or_refuse, read_spec_columns, rejected_row
from aco_sync.ingest.tabular import Table

DECISIONS_FILE = "duplicate-decisions.csv"
DUPLICATE_DECISIONS = TableSpec(
    required={
        "master_pat_id_a": ("patient_a", "master_pat_id_1"),
        "master_pat_id_b": ("patient_b", "master_pat_id_2"),
        "decision": ("review", "reviewer_decision"),
    },
    missing_message="The duplicate decisions file has no {missing} column.",
)
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
    table = read_or_refuse(file_name, data, lambda t: _read_rows(t, result))
    if isinstance(table, IngestIssue):
        return DecisionsReadResult(issues=[table])
    result.issues = table.issues.finish()
    return result


def _read_rows(table: Table, result: DecisionsReadResult) -> None:
    # a file without the columns is drained all the same: the table reader's own row problems are reported
    columns, _drained = read_spec_columns(table, DUPLICATE_DECISIONS)
    if columns is None:
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
            table.issues.add(rejected_row(table, row.line, problems, "invalid_decision", verb="ignored"))
            continue
        low, high = sorted((a, b))
        result.decisions.append(DuplicateDecision(low, high, DECISIONS[raw], row.line))
