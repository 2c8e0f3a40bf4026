"""The engine's column-wise fast paths give exactly what the record-by-record forms gave: outcomes built
as columns (and their outcome file), bulk MASTER_PAT_IDs, the columnar roster artifact, partition
slices, batch concatenation and the garbage-collector pause. The references below are the earlier
implementations (per group / per record / per entry), kept here as oracles."""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from engine_factories import plan_for, record

from aco_sync.domain.bulk import gc_paused
from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.collection_types import plan_measures, plan_submissions
from aco_sync.domain.dedup import PseudonymKey, master_patient_id_for_key, master_patient_ids
from aco_sync.domain.engine import AggregationResult, _outcome_order, aggregate_mcqm, aggregate_members
from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.outcome_codes import CODE_PERFORMANCE
from aco_sync.domain.outcome_columns import OutcomeColumns
from aco_sync.domain.partitions import encode_by_bucket, roster_of_partition, select_partition
from aco_sync.domain.record_codec import RecordBatch, concat_batches, decode_batch, encode_records
from aco_sync.domain.records import Gender, PatientOutcome, RosterEntry
from aco_sync.service.artifacts import dumps, outcomes_to_json, roster_from_json, roster_to_json
from aco_sync.wire import roster_entry_to_dict
from support.bench_modules import bench_synthetic

KEY = PseudonymKey(b"tests: a fixed pseudonym key, not a secret.....")


@pytest.fixture(scope="module")
def aco() -> Any:
    return bench_synthetic().generate_aco(records=6_000, tins=12, seed=7)


def _reference_outcomes(result: AggregationResult) -> list[PatientOutcome]:
    """The outcomes as built before the columns: one provenance tuple per group, then objects."""
    resolution = result._resolution
    assert resolution is not None
    index = resolution.index
    positions = list(range(len(resolution.groups))) if result._positions is None else result._positions
    keys = index.batch.column("source_key")
    rows = range(len(resolution._group_keys))
    batch_rows = list(rows) if resolution._record_indices is None else resolution._record_indices
    behind: dict[int, list[int]] = {}
    for row in rows:
        behind.setdefault(resolution._group_keys[row], []).append(row)
    outcomes = []
    for position in positions:
        group = resolution.groups[position]
        patient = group // resolution.width
        measure_id = index.measure_table[group % resolution.width]
        day = resolution.days[position]
        records = behind[group]
        outcomes.append(
            PatientOutcome(
                master_pat_id=master_patient_id_for_key(index.keys[patient], KEY),
                measure_id=measure_id,
                collection_type=result._instance_of[measure_id],
                outcome=CODE_PERFORMANCE[resolution.codes[position]],
                performance_date=date.fromordinal(day) if day else None,
                source_tins=tuple(sorted({index.tin_table[resolution._tin_indices[r]] for r in records})),
                source_keys=tuple(sorted(keys[batch_rows[r]] for r in records)),
                gender=Gender(index.keys[patient][3]),
            )
        )
    return sorted(outcomes, key=lambda o: (o.measure_id, o.collection_type, o.master_pat_id))


def _reference_outcome_file(outcomes: Sequence[PatientOutcome]) -> bytes:
    """The outcome file as written from objects before the columns."""

    def coded(values: Any) -> dict[str, Any]:
        positions: dict[Any, int] = {}
        indices = [positions.setdefault(v, len(positions)) for v in values]
        return {"table": list(positions), "index": indices}

    columns: dict[str, Any] = {"format": "outcome-columns-1", "n": len(outcomes)}
    columns["master_pat_id"] = [o.master_pat_id for o in outcomes]
    columns["measure_id"] = coded(o.measure_id for o in outcomes)
    columns["collection_type"] = coded(o.collection_type.value for o in outcomes)
    columns["outcome"] = coded(o.outcome.value for o in outcomes)
    columns["source_tins"] = coded(";".join(o.source_tins) for o in outcomes)
    columns["gender"] = coded(o.gender.value if o.gender is not None else None for o in outcomes)
    columns["performance_date"] = [
        o.performance_date.toordinal() if o.performance_date else 0 for o in outcomes
    ]
    columns["source_keys"] = ["\x1f".join(o.source_keys) for o in outcomes]
    return dumps(columns)


def _partition_batches(aco: Any, partitions: int) -> list[RecordBatch]:
    """The records as the partition steps read them: per-TIN bucket files, sliced, concatenated."""
    columns = aco.records.columns
    by_tin: dict[str, list[int]] = {}
    for row, tin in enumerate(columns["tin"]):
        by_tin.setdefault(tin, []).append(row)
    files = [
        encode_by_bucket(RecordBatch({n: [v[i] for i in rows] for n, v in columns.items()}, len(rows)))
        for _tin, rows in sorted(by_tin.items())
    ]
    return [
        concat_batches([select_partition(decode_batch(data), p, partitions) for data in files])
        for p in range(partitions)
    ]


@pytest.mark.parametrize("partitions", [1, 2, 16])
def test_outcome_columns_match_the_per_group_outcomes(aco: Any, partitions: int) -> None:
    catalog = default_catalog()
    plan = plan_measures(
        plan_submissions(aco.records, aco.denominator_counts),
        has_active_roster=True,
        settings=aco.settings,
        catalog=catalog,
    )
    seen = 0
    for p, batch in enumerate(_partition_batches(aco, partitions)):
        roster = roster_of_partition(aco.roster, p, partitions)
        members = aggregate_members(batch, plan, catalog=catalog, pseudonym_key=KEY)
        mcqm = aggregate_mcqm(
            batch, [], plan, roster, settings=aco.settings, catalog=catalog, pseudonym_key=KEY
        )
        for result in (members, mcqm):
            expected = _reference_outcomes(result)
            assert result.outcomes == expected
            assert result.outcome_columns.to_outcomes() == expected
            assert OutcomeColumns.from_outcomes(expected) == result.outcome_columns
            assert outcomes_to_json(result.outcome_columns) == _reference_outcome_file(expected)
            assert outcomes_to_json(expected) == _reference_outcome_file(expected)
            seen += len(expected)
    assert seen > 1_000


def test_outcome_order_with_a_shared_id_keeps_the_stable_order() -> None:
    measures = ["M2", "M1", "M1", "M2", "M1"]
    patients = [0, 1, 2, 2, 0]
    ids = ["MPB", "MPA", "MPA", "MPA", "MPB"]  # patients 1 and 2 collide
    order = sorted(range(5), key=ids.__getitem__)
    order.sort(key=measures.__getitem__)
    assert _outcome_order(measures, patients, ids) == order == [1, 2, 4, 3, 0]
    unique = ["MPC", "MPA", "MPB", "MPB", "MPC"]
    assert _outcome_order(measures, patients, unique) == sorted(
        range(5), key=lambda i: (measures[i], unique[i])
    )


def test_bulk_master_patient_ids_are_the_single_ones(aco: Any) -> None:
    keys = [
        ("anne", "lee", date(1950, 1, 2), "F"),
        ("zoë", "o'brien-ñ", date(1931, 12, 31), "U"),
        ("", "", date(2000, 2, 29), "M"),
    ]
    batch_keys = list(
        {
            (f.casefold(), last.casefold(), date.fromordinal(b), "F")
            for f, last, b in zip(
                aco.records.column("first_name"),
                aco.records.column("last_name"),
                aco.records.column("birth_date"),
                strict=True,
            )
        }
    )
    for sample in (keys, batch_keys, []):
        assert master_patient_ids(sample, KEY) == [master_patient_id_for_key(k, KEY) for k in sample]


def _old_roster_file(entries: Sequence[RosterEntry]) -> bytes:
    return dumps([roster_entry_to_dict(e) for e in entries])


@pytest.mark.parametrize(("partition", "partitions"), [(0, 1), (0, 2), (1, 2), (5, 16)])
def test_columnar_roster_reads_as_the_entry_list(aco: Any, partition: int, partitions: int) -> None:
    entries = [
        *aco.roster,
        RosterEntry("1AB2CD3EF45", "Ann", "Lee", date(1950, 1, 2), Gender.FEMALE, frozenset({"M1", "M0"}), 7),
        RosterEntry("9ZZ9ZZ9ZZ99", "Bo", "Li", date(1944, 5, 6), Gender.UNKNOWN, frozenset(), None),
    ]
    expected = roster_of_partition(entries, partition, partitions)
    assert roster_from_json(roster_to_json(entries), partition=partition, partitions=partitions) == expected
    # a roster stored by an earlier version (a list of entry objects) is still read
    assert roster_from_json(_old_roster_file(entries), partition=partition, partitions=partitions) == expected


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(n=d["n"] + 1),
        lambda d: d["birth_date"].__setitem__(0, "1950-01-02"),
        lambda d: d["gender"].__setitem__(0, "X"),
        lambda d: d["first_name"].__setitem__(0, 3),
        lambda d: d.pop("mbi"),
        lambda d: d.update(format="roster-columns-9"),
    ],
)
def test_a_corrupt_columnar_roster_is_refused(aco: Any, damage: Any) -> None:
    document = json.loads(roster_to_json(aco.roster[:5]))
    damage(document)
    with pytest.raises(InvalidInputError, match="Stored roster is corrupt"):
        roster_from_json(json.dumps(document).encode())


def test_select_spans_and_concat_match_the_records(aco: Any) -> None:
    records = list(aco.records)[:900]
    coded = decode_batch(encode_records(records[:400]))  # columns dictionary-coded or raw, per codec
    raw = RecordBatch.from_records(records[400:])  # every column extracted from the objects
    spans = [range(0, 50), range(120, 120), range(200, 400)]
    rows = [row for span in spans for row in span]
    assert list(coded.select_spans(spans)) == list(coded.select(rows)) == [records[r] for r in rows]
    assert list(concat_batches([coded, raw, coded.select_spans(spans)])) == [
        *records,
        *(records[r] for r in rows),
    ]


def test_gc_paused_restores_collection_of_cycles() -> None:
    class Node:
        other: Any = None

    with gc_paused():
        assert not gc.isenabled()
        kept = [(i, str(i)) for i in range(10_000)]
    assert gc.isenabled() and len(kept) == 10_000
    node = Node()
    node.other = node
    del node
    assert gc.collect() >= 1


def test_provenance_of_groups_of_every_size_and_dropped_records_matches_the_per_group_outcomes() -> None:
    """Groups of 1 to 5 records (pairs take min/max, the others a sort per group), several spellings of one
    patient at several TINs, keys out of order, and records of a measure the plan does not have (dropped)."""
    tins = ["333333333", "111111111", "222222222"]
    records = []
    for person in range(12):
        size = 1 + person % 5
        for n in range(size):
            records.append(
                record(
                    first=f"Pat{person}" if n % 2 else f" pat{person} ",
                    tin=tins[(person + n) % len(tins)],
                    measure="M001",
                    key=f"k{(7 * n + person) % 11:02d}-{person}-{n}",
                    day=date(2025, 1 + n, 1 + person),
                )
            )
        records.append(record(first=f"Pat{person}", measure="M113"))
    batch = RecordBatch.from_records(records[::-1])
    plan = plan_for([r for r in records if r.measure_id != "M113"])
    result = aggregate_members(batch, plan, catalog=default_catalog(), pseudonym_key=KEY)
    assert result._resolution is not None and result._resolution._record_indices is not None
    expected = _reference_outcomes(result)
    assert {len(o.source_keys) for o in expected} == {1, 2, 3, 4, 5}
    assert result.outcome_columns.to_outcomes() == expected


def test_spans_of_a_decoded_file_are_checked_as_a_full_load_is(aco: Any) -> None:
    data = encode_records(list(aco.records)[:300])
    spans = [range(10, 20), range(200, 300)]
    assert list(decode_batch(data).select_spans(spans)) == list(
        decode_batch(data).select([*spans[0], *spans[1]])
    )
    header = json.loads(
        data[len(b"ACOREC3\n") + 4 : len(b"ACOREC3\n") + 4 + int.from_bytes(data[8:12], "little")]
    )
    assert header["c"]["measure_id"]["k"] == "dict"
    shorter = json.dumps({**header, "n": header["n"] + 1}, ensure_ascii=True).encode("ascii")
    damaged = (
        data[:8]
        + len(shorter).to_bytes(4, "little")
        + shorter
        + data[12 + int.from_bytes(data[8:12], "little") :]
    )
    for load in (lambda b: b.column("measure_id"), lambda b: b.select_spans(spans).column("measure_id")):
        with pytest.raises(InvalidInputError, match="corrupt"):
            load(decode_batch(damaged))
    with pytest.raises(ValueError, match="spans"):
        decode_batch(data).select_spans([range(250, 301)])
