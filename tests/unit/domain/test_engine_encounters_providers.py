"""Cleanup and incremental syncs (diff_encounters), and the provider sync (diff_providers)."""

from __future__ import annotations

import dataclasses
import random
from datetime import date

from engine_factories import TIN_A, TIN_B, record

from aco_sync.domain.engine import diff_encounters, diff_providers, record_content_hash
from aco_sync.domain.records import Performance, Provider


def _stored(records):
    return {r.source_key: record_content_hash(r) for r in records}


def _population(n=1000):
    rng = random.Random(5)
    return [
        record(
            first=f"P{i}", tin=rng.choice([TIN_A, TIN_B]), day=date(2025, 1 + i % 12, 1 + i % 28), key=f"k{i}"
        )
        for i in range(n)
    ]


def test_second_sync_without_changes_writes_nothing():
    records = _population()
    diff = diff_encounters(_stored(records), records)
    assert diff.upserts == [] and diff.deleted_keys == [] and diff.unchanged == len(records)
    assert diff.writes == 0


def test_one_percent_changed_writes_about_one_percent():
    records = _population()
    first = diff_encounters({}, records)
    assert first.writes == 1000
    changed = [
        dataclasses.replace(r, performance=Performance.NOT_MET) if i % 100 == 0 else r
        for i, r in enumerate(records)
    ]
    diff = diff_encounters(_stored(records), changed)
    assert len(diff.upserts) == 10 and diff.deleted_keys == [] and diff.unchanged == 990
    assert diff.writes / first.writes == 0.01


def test_removed_row_or_deleted_file_disappears_at_next_sync():
    records = _population(10)
    remaining = [r for r in records if r.source_key not in {"k3", "k7"}]
    diff = diff_encounters(_stored(records), remaining)
    assert diff.deleted_keys == ["k3", "k7"] and diff.upserts == []
    assert diff.summary() == {"upserts": 0, "deleted": 2, "unchanged": 8, "duplicate_keys": 0}


def test_row_that_only_moved_is_not_rewritten():
    original = record(key="k1")
    moved = dataclasses.replace(original, source_line=42, source_file="other.csv")
    assert diff_encounters(_stored([original]), [moved]).writes == 0


def test_given_content_hash_is_used():
    item = dataclasses.replace(record(key="k1"), content_hash="abc")
    assert diff_encounters({"k1": "abc"}, [item]).unchanged == 1


def test_content_hash_changes_with_aggregation_fields():
    base = record(key="k1")
    assert record_content_hash(base) == record_content_hash(dataclasses.replace(base))
    for change in (
        {"performance": Performance.NOT_MET},
        {"performance_date": date(2025, 9, 9)},
        {"first_name": "Bo"},
        {"hba1c": 9.5},
    ):
        assert record_content_hash(dataclasses.replace(base, **change)) != record_content_hash(base)


def test_duplicate_source_keys_are_reported():
    item = record(key="dup")
    diff = diff_encounters({}, [item, item])
    assert len(diff.upserts) == 1 and diff.duplicate_keys == ["dup"]


def test_providers_added_updated_removed():
    aggregate = [
        Provider("999999999", "1", "Dr One"),
        Provider("999999999", "2", "Dr Two"),
        Provider("999999999", "3", "Dr Gone"),
    ]
    members = [
        Provider(TIN_A, "1", "Dr One"),
        Provider(TIN_A, "2", "Dr Two Renamed"),
        Provider(TIN_B, "4", "Dr New"),
    ]
    diff = diff_providers(aggregate, members)
    assert [p.npi for p in diff.added] == ["4"]
    assert [(p.npi, p.name) for p in diff.updated] == [("2", "Dr Two Renamed")]
    assert [p.npi for p in diff.removed] == ["3"]
    assert diff.unchanged == 1


def test_provider_listed_by_two_members_is_order_independent():
    members = [Provider(TIN_B, "1", "Dr B", active=True), Provider(TIN_A, "1", "Dr A", active=False)]
    a = diff_providers([], members)
    b = diff_providers([], list(reversed(members)))
    assert a.added == b.added == [members[0]]


def test_cleanup_counts_removals_in_the_sync_log():
    records = _population(10)
    diff = diff_encounters(_stored(records), records[:7])
    (entry,) = diff.log_entries(tin=TIN_A)
    assert entry.kind == "removal" and entry.tin == TIN_A
    assert entry.message.startswith(f"Cleanup of TIN {TIN_A}: 3 aggregate encounters removed")
    assert diff_encounters(_stored(records), records).log_entries()[0].kind == "cleanup"
