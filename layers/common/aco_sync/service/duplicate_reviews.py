"""Apply the reviewer's decisions on probable duplicates (``reviews/<aco_id>/duplicate-decisions.csv``)
to a sync: ``same`` pairs are merged under one MASTER_PAT_ID before aggregation (finalize and the MCQM
step alike), ``not_same`` pairs are no longer reported; each decision is logged once (finalize)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from aco_sync.adapters.ports import ObjectNotFoundError, ObjectStore
from aco_sync.domain.dedup import PseudonymKey, merge_same_person
from aco_sync.domain.records import PerformanceRecord, SyncLogEntry
from aco_sync.ingest.duplicate_reviews import (
    DECISIONS_FILE,
    DuplicateDecision,
    decisions_key,
    read_duplicate_decisions,
)


@dataclass
class AppliedDecisions:
    records: Iterable[PerformanceRecord]
    not_the_same: frozenset[tuple[str, str]] = frozenset()
    log: list[SyncLogEntry] = field(default_factory=list)
    merged_into: dict[str, str] = field(default_factory=dict)  # MASTER_PAT_ID -> the id it merged under


def load_duplicate_decisions(
    objects: ObjectStore, aco_id: str
) -> tuple[list[DuplicateDecision], list[SyncLogEntry]]:
    """The decisions of the ACO's decisions file (none when there is no file) and its problems."""
    key = decisions_key(aco_id)
    try:
        data = objects.get(key)
    except ObjectNotFoundError:
        return [], []
    result = read_duplicate_decisions(key, data)
    problems = [
        SyncLogEntry(
            kind="ingest_error" if issue.severity == "error" else "ingest_warning",
            level=issue.severity,
            message=f"{DECISIONS_FILE}: {issue.reason}",
            file=key,
            line=issue.line,
        )
        for issue in result.issues
    ]
    return result.decisions, problems


def apply_duplicate_decisions(
    objects: ObjectStore, aco_id: str, records: Iterable[PerformanceRecord], *, pseudonym_key: PseudonymKey
) -> AppliedDecisions:
    decisions, log = load_duplicate_decisions(objects, aco_id)
    if not decisions:
        return AppliedDecisions(records=records, log=log)
    same = [(d.master_pat_id_a, d.master_pat_id_b) for d in decisions if d.decision == "same"]
    merged, target = merge_same_person(records, same, pseudonym_key=pseudonym_key)
    return AppliedDecisions(
        records=records if merged is None else merged,
        not_the_same=frozenset(
            (d.master_pat_id_a, d.master_pat_id_b) for d in decisions if d.decision == "not_same"
        ),
        log=[*log, *decision_log(aco_id, decisions, target)],
        merged_into=dict(target),
    )


def decision_log(
    aco_id: str, decisions: Sequence[DuplicateDecision], merged_into: Mapping[str, str]
) -> list[SyncLogEntry]:
    """One line per decision; ``merged_into``: MASTER_PAT_ID -> the id it was merged under (over every
    partition of the sync's records)."""
    log = []
    for d in decisions:
        where = f"{DECISIONS_FILE} row {d.line}"
        if d.decision == "not_same":
            message = (
                f"Patients {d.master_pat_id_a} and {d.master_pat_id_b} were reviewed as not the same person "
                f"({where}); they are no longer reported as probable duplicates"
            )
        elif d.master_pat_id_a in merged_into or d.master_pat_id_b in merged_into:
            kept = merged_into.get(d.master_pat_id_b, merged_into.get(d.master_pat_id_a))
            message = (
                f"Patients {d.master_pat_id_a} and {d.master_pat_id_b} were reviewed as the same person "
                f"({where}); merged under {kept}"
            )
        else:
            message = (
                f"Patients {d.master_pat_id_a} and {d.master_pat_id_b} were reviewed as the same person "
                f"({where}); not both are in this sync's data, nothing to merge"
            )
        log.append(SyncLogEntry(kind="duplicate_review", message=message, file=decisions_key(aco_id)))
    return log


def combined_review_log(
    objects: ObjectStore, aco_id: str, merged_into: Mapping[str, str]
) -> list[SyncLogEntry]:
    """The log of the decisions applied to the sync (the decisions file's problems, then one line per
    decision), from the partitions' merges."""
    decisions, log = load_duplicate_decisions(objects, aco_id)
    return [*log, *decision_log(aco_id, decisions, merged_into)] if decisions else log
