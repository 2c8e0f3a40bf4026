"""Cleanup and incremental syncs (PRODUCT.md "The sync workflow", Cleanup).

The aggregate keeps, per source record, its ``source_key`` and ``content_hash``. Comparing that with
the member clinics' current records gives what to write (new or changed records), what to delete
(source encounter or QRDA-I performance removed at the member: file deleted, row removed) and how many
are unchanged. A sync with no changed input writes nothing; with 1% changed it writes about 1%.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aco_sync.domain.records import PerformanceRecord, SyncLogEntry

# Everything that affects aggregation or what the aggregate shows. Not source_file / source_line: a
# row that only moved (a row above it was deleted) must not be rewritten.
_HASHED_FIELDS = (
    "tin",
    "source_key",
    "measure_id",
    "collection_type",
    "performance",
    "performance_date",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "mbi",
    "npi",
    "member_patient_id",
    "hba1c",
    "systolic",
    "diastolic",
)


def record_content_hash(record: PerformanceRecord) -> str:
    """A 32-hex-digit BLAKE2b hash of the fields that affect aggregation (stable across processes)."""
    material = "\x1f".join(
        "" if (value := getattr(record, name)) is None else str(value) for name in _HASHED_FIELDS
    )
    return hashlib.blake2b(material.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(slots=True)
class EncounterDiff:
    upserts: list[PerformanceRecord] = field(default_factory=list)  # new or changed: write these
    deleted_keys: list[str] = field(default_factory=list)  # gone at the member: delete these (sorted)
    unchanged: int = 0
    duplicate_keys: list[str] = field(default_factory=list)  # source keys seen twice in current (first kept)

    @property
    def writes(self) -> int:
        return len(self.upserts) + len(self.deleted_keys)

    def log_entries(self, *, tin: str | None = None) -> list[SyncLogEntry]:
        """Sync log lines for the cleanup: what was removed, written and kept (counts only, no PHI)."""
        where = f" of TIN {tin}" if tin else ""
        entries = [
            SyncLogEntry(
                kind="removal" if self.deleted_keys else "cleanup",
                tin=tin,
                message=f"Cleanup{where}: {len(self.deleted_keys)} aggregate encounters removed (source "
                f"row or file removed at the member), {len(self.upserts)} new or changed, "
                f"{self.unchanged} unchanged",
            )
        ]
        if self.duplicate_keys:
            entries.append(
                SyncLogEntry(
                    kind="cleanup",
                    level="warning",
                    tin=tin,
                    message=f"{len(self.duplicate_keys)} source records{where} share a source key with "
                    f"another record; only the first was kept",
                )
            )
        return entries

    def summary(self) -> dict[str, int]:
        return {
            "upserts": len(self.upserts),
            "deleted": len(self.deleted_keys),
            "unchanged": self.unchanged,
            "duplicate_keys": len(self.duplicate_keys),
        }


def diff_encounters(stored: Mapping[str, str], current: Iterable[PerformanceRecord]) -> EncounterDiff:
    """Compare the aggregate's ``source_key -> content_hash`` with the members' current records."""
    diff = EncounterDiff()
    seen: set[str] = set()
    for record in current:
        key = record.source_key
        if key in seen:
            diff.duplicate_keys.append(key)
            continue
        seen.add(key)
        content_hash = record.content_hash or record_content_hash(record)
        if stored.get(key) == content_hash:
            diff.unchanged += 1
        else:
            diff.upserts.append(record)
    diff.deleted_keys = sorted(key for key in stored if key not in seen)
    return diff
