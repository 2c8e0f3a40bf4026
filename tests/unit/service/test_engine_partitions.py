"""Engine partitions (docs/PERFORMANCE.md "Scaling past one Lambda"): the same ACO synced with one engine
partition and with 16 gives exactly the same results: measure results (every count, rate, completeness,
patients per TIN, roster coverage), quality score, every report file, the clinic stats and the sync log.
The ACO is bench/synthetic.py's seeded generator (CQM and MCQM rows, denominator-only counts, a roster
with ambiguous and unmatched rows, probable duplicates), with a reviewer's duplicate decisions."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_pipeline import run_sync

from aco_sync.adapters.environment import Stores
from aco_sync.domain.partitions import (
    PARTITION_BUCKETS,
    bucket_of,
    buckets_of_partition,
    partition_count,
    record_buckets,
    select_partition,
)
from aco_sync.domain.record_codec import RecordBatch
from aco_sync.domain.records import Gender
from aco_sync.service.roster_ingest import ingest_roster
from aco_sync.service.status import latest_sync_status
from support.bench_modules import bench_synthetic, put_folder, write_synthetic_aco
from support.stores import memory_stores

RECORDS, TINS = 4_000, 40


@pytest.fixture(scope="module")
def aco_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_aco(tmp_path_factory.mktemp("aco"), records=RECORDS, tins=TINS, seed=13)


def _stores(folder: Path, decisions: bytes | None, records_per_partition: int | None) -> tuple[Stores, str]:
    stores = memory_stores()
    put_folder(stores.objects, folder)
    [config] = [k for k in stores.objects.list_keys("config/acos/")]
    settings = json.loads(stores.objects.get(config))
    if records_per_partition is not None:
        settings["records_per_partition"] = records_per_partition
    stores.objects.put(config, json.dumps(settings).encode())
    aco_id = settings["aco_id"]
    if decisions is not None:
        stores.objects.put(f"reviews/{aco_id}/duplicate-decisions.csv", decisions)
    [roster] = stores.objects.list_keys(f"rosters/{aco_id}/")
    ingest_roster(stores, key=roster, start=False)
    return stores, aco_id


# a moment of the run ("2026-12-02 01:59 UTC", ISO 8601 with seconds): not the minute of the sync's end,
# which a run crossing a minute boundary missed; dates alone (performance dates) stay compared
TIME_OF_DAY = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: ?UTC|Z|[+-]\d{2}:\d{2})?")


def _sync(folder: Path, decisions: bytes | None, records_per_partition: int | None) -> dict[str, Any]:
    stores, aco_id = _stores(folder, decisions, records_per_partition)
    sync_id = run_sync(stores, aco_id)["sync_id"]
    prefix = f"results/{aco_id}/{sync_id}/"
    files = {key.removeprefix(prefix): stores.objects.get(key) for key in stores.objects.list_keys(prefix)}
    partition_files = stores.objects.list_keys(f"store/{aco_id}/syncs/{sync_id}/partitions/members-")
    partitions = sum(1 for key in partition_files if re.fullmatch(r".*/members-\d+\.json", key))
    status = latest_sync_status(aco_id, store=stores)

    def same_everywhere(data: bytes) -> bytes:  # the sync id and the times of the run differ
        text = data.decode("utf-8").replace(sync_id, "<sync>")
        return TIME_OF_DAY.sub("<time>", text).encode("utf-8")

    quality = json.loads(files["quality-score.json"])
    return {
        "partitions": partitions,  # each partition's sums (then its outcomes, report part, patients)
        "measures": status["measures"],
        "quality": {k: v for k, v in quality.items() if k not in ("sync_id", "generated_at")},
        "files": {
            name: same_everywhere(body) for name, body in files.items() if name != "quality-score.json"
        },
        "log": [(e["kind"], e["level"], e["message"].replace(sync_id, "<sync>")) for e in status["log"]],
        "counts": status["sync"]["counts"],
    }


def _decisions(folder: Path) -> bytes:
    """A reviewer's decisions on the first probable duplicates of a one-partition sync: same, not_same."""
    pairs = list(
        csv.DictReader(io.StringIO(_sync(folder, None, None)["files"]["probable-duplicates.csv"].decode()))
    )
    assert len(pairs) >= 3
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(pairs[0]))
    writer.writeheader()
    for pair, decision in zip(pairs, ("same", "not_same", ""), strict=False):
        writer.writerow({**pair, "decision": decision})
    return out.getvalue().encode()


def test_16_partitions_give_exactly_the_results_of_one(aco_folder: Path) -> None:
    decisions = _decisions(aco_folder)
    one = _sync(aco_folder, decisions, None)
    sixteen = _sync(aco_folder, decisions, 1)  # one record per partition: as many partitions as there can be
    assert (one["partitions"], sixteen["partitions"]) == (1, PARTITION_BUCKETS)
    assert one["counts"]["records"] == RECORDS
    assert any(m["collection_type"] == "MCQM" and m["roster_coverage"] for m in one["measures"])
    assert sixteen["measures"] == one["measures"]
    assert sixteen["quality"] == one["quality"] and one["quality"]["aco_patients"] > 0
    assert "probable-duplicates.csv" in one["files"] and "patients.csv" in one["files"]
    assert any(name.startswith("gaps-") for name in one["files"])
    assert sorted(sixteen["files"]) == sorted(one["files"])
    for name, body in one["files"].items():
        assert sixteen["files"][name] == body, name
    assert sixteen["log"] == one["log"]
    messages = [message for _kind, _level, message in one["log"]]
    assert any("reviewed as the same person" in m and "merged under" in m for m in messages)
    assert any("roster match" in m for m in messages)


def test_the_partition_count_grows_with_the_records_in_powers_of_two() -> None:
    assert partition_count(0) == partition_count(500_000) == 1  # the default threshold: 500,000 records
    assert partition_count(500_001) == partition_count(1_000_000) == 2
    assert partition_count(1_750_000) == 4
    assert partition_count(10_000_000) == 16
    assert partition_count(10**12) == PARTITION_BUCKETS  # never more partitions than buckets
    assert partition_count(100, records_per_partition=10) == 16
    assert partition_count(100, records_per_partition=30) == 4


def test_partitions_split_the_buckets_and_the_records_exactly_once(aco_folder: Path) -> None:
    for partitions in (1, 2, 4, 8, 16):
        owned = [buckets_of_partition(p, partitions) for p in range(partitions)]
        assert sorted(b for buckets in owned for b in buckets) == list(range(PARTITION_BUCKETS))
    synthetic = bench_synthetic()
    batch = synthetic.generate_aco(records=2_000, tins=5, seed=3).records
    assert isinstance(batch, RecordBatch)
    parts = [select_partition(batch, p, 16) for p in range(16)]
    assert sum(len(p) for p in parts) == len(batch)
    keys = [set(zip(p.column("birth_date"), p.column("gender"), strict=True)) for p in parts]
    for i, mine in enumerate(keys):  # a (birth date, gender) is in one partition only
        assert all(not mine & other for other in keys[i + 1 :])
    assert set(record_buckets(parts[3])) <= buckets_of_partition(3, 16)
    assert bucket_of(1950, "F") == bucket_of(1950, Gender.FEMALE)  # the normalised gender
    assert len({bucket_of(year, g) for year in range(1920, 1960) for g in ("F", "M")}) == PARTITION_BUCKETS


def test_a_clinic_file_grouped_by_bucket_gives_each_partition_its_rows_from_the_index() -> None:
    from aco_sync.domain.partitions import encode_by_bucket
    from aco_sync.domain.record_codec import decode_batch

    records = list(bench_synthetic().generate_aco(records=1_500, tins=3, seed=5).records)
    decoded = decode_batch(encode_by_bucket(records))
    assert sorted(decoded, key=repr) == sorted(records, key=repr)  # the same records, grouped by bucket
    assert decoded.cache["header:bucket_rows"][-1] == len(records)
    for p in range(16):
        from_index = select_partition(decode_batch(encode_by_bucket(records)), p, 16)
        hashed = select_partition(RecordBatch.from_records(records), p, 16)  # no index: hashed per record
        assert sorted(from_index, key=repr) == sorted(hashed, key=repr)
        assert set(record_buckets(from_index)) <= buckets_of_partition(p, 16)


def test_outcome_files_round_trip() -> None:
    from datetime import date

    from aco_sync.domain.records import CollectionType, PatientOutcome, Performance
    from aco_sync.service.artifacts import outcomes_from_json, outcomes_to_json

    outcomes = [
        PatientOutcome(
            "A",
            "M236",
            CollectionType.CQM,
            Performance.MET,
            date(2025, 3, 1),
            ("1", "2"),
            ("k:1", "k:2"),
            Gender.FEMALE,
        ),
        PatientOutcome("B", "M1", CollectionType.MCQM, Performance.DENOMINATOR_ONLY, None, (), (), None),
    ]
    assert outcomes_from_json(outcomes_to_json(outcomes)) == outcomes
    assert outcomes_from_json(outcomes_to_json([])) == []
