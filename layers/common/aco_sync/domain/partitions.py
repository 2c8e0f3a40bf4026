"""Engine partitions by patient key (docs/PERFORMANCE.md "Scaling past one Lambda").

Every rule of the engine is local to one patient (the de-duplication key, per-measure resolution, the
roster match) and every statistic is a sum, so the records can be split into partitions that the
engine steps run on one at a time (one Lambda each, a Distributed Map on AWS) and whose counts a
reduce step adds. A record's **bucket** is a stable hash of its patient's birth year and normalised
gender, one of :data:`PARTITION_BUCKETS`: coarser than the full key, so the probable-duplicates
blocks (same birth date and gender, or day and month swapped within a year) never cross a bucket.
Partition ``p`` of ``n`` holds the buckets ``b`` with ``b % n == p``; ``n`` is a power of two from the
ACO's record count (:func:`partition_count`), 1 below the threshold: one path whatever the size.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable
from datetime import date
from itertools import compress, pairwise
from operator import attrgetter

from aco_sync.domain.dedup import normalise_gender
from aco_sync.domain.record_codec import RecordBatch, encode_records
from aco_sync.domain.records import Gender, PerformanceRecord, RosterEntry

PARTITION_BUCKETS = 16  # fixed: the most partitions an ACO's records are ever split into
DEFAULT_RECORDS_PER_PARTITION = 500_000  # docs/PERFORMANCE.md "Scaling past one Lambda": the threshold
BUCKET_INDEX = "bucket_rows"  # in an encoded clinic file's header: the first row of each bucket, then n


def bucket_of(birth_year: int, gender: Gender | str) -> int:
    """The bucket of a patient (birth year, gender): CRC-32, stable across processes and versions."""
    text = f"{birth_year}|{normalise_gender(gender).value}"
    return zlib.crc32(text.encode("ascii")) % PARTITION_BUCKETS


def partition_count(records: int, records_per_partition: int = DEFAULT_RECORDS_PER_PARTITION) -> int:
    """The number of partitions for ``records``: the smallest power of two giving at most
    ``records_per_partition`` records per partition on average, at most :data:`PARTITION_BUCKETS`."""
    count = 1
    while count < PARTITION_BUCKETS and records > count * max(1, records_per_partition):
        count *= 2
    return count


def buckets_of_partition(partition: int, partitions: int) -> frozenset[int]:
    if not 1 <= partitions <= PARTITION_BUCKETS or not 0 <= partition < partitions:
        raise ValueError(f"No partition {partition} of {partitions}")
    return frozenset(b for b in range(PARTITION_BUCKETS) if b % partitions == partition)


def record_buckets(batch: RecordBatch) -> list[int]:
    """The bucket of every record of ``batch``, from its dictionary-coded birth date and gender."""
    if not len(batch):
        return []
    birth_table, birth = batch.coded("birth_date")
    gender_table, gender = batch.coded("gender")
    years = [date.fromordinal(o).year if o else 0 for o in birth_table]
    by_pair: dict[tuple[int, int], int] = {}
    pairs = list(zip(birth, gender, strict=True))
    for b, g in set(pairs):
        by_pair[(b, g)] = bucket_of(years[b], gender_table[g])
    return list(map(by_pair.__getitem__, pairs))


def _buckets_of_records(records: list[PerformanceRecord]) -> list[int]:
    """:func:`record_buckets` of PerformanceRecords, from their birth dates and genders (one
    :func:`bucket_of` per distinct birth year and gender)."""
    births = list(map(attrgetter("birth_date"), records))
    year_of = {birth: birth.year if birth is not None else 0 for birth in set(births)}
    pairs = list(
        zip(map(year_of.__getitem__, births), map(attrgetter("gender._value_"), records), strict=True)
    )
    by_pair = {pair: bucket_of(*pair) for pair in set(pairs)}
    return list(map(by_pair.__getitem__, pairs))


def encode_by_bucket(records: Iterable[PerformanceRecord]) -> bytes:
    """A clinic's encoded records grouped by bucket (bucket 0's first), with the index of each bucket's
    rows in the header, so that a partition takes its buckets' rows without hashing a record.
    PerformanceRecords are encoded straight from their attributes (no batch in between): the same bytes
    as their :class:`RecordBatch`."""
    items: RecordBatch | list[PerformanceRecord]
    if isinstance(records, RecordBatch):
        items = records
        buckets = record_buckets(records)
    else:
        items = list(records)
        buckets = _buckets_of_records(items)
    counts = Counter(buckets)
    offsets = [0]
    for bucket in range(PARTITION_BUCKETS):
        offsets.append(offsets[-1] + counts[bucket])
    order = sorted(range(len(items)), key=buckets.__getitem__)  # stable
    return encode_records(items, rows=order, extra={BUCKET_INDEX: offsets})


def _bucket_offsets(batch: RecordBatch) -> list[int] | None:
    """The bucket index of a decoded :func:`encode_by_bucket` file, or None (none, or not consistent)."""
    offsets = batch.cache.get(f"header:{BUCKET_INDEX}")
    if (
        isinstance(offsets, list)
        and len(offsets) == PARTITION_BUCKETS + 1
        and all(type(o) is int for o in offsets)
        and offsets[0] == 0
        and offsets[-1] == len(batch)
        and all(a <= b for a, b in pairwise(offsets))
    ):
        return offsets
    return None


def select_partition(batch: RecordBatch, partition: int, partitions: int) -> RecordBatch:
    """The records of ``batch`` in the partition (the batch itself when there is one partition): the
    rows of its buckets from the file's bucket index, else from each record's birth year and gender."""
    if partitions == 1:
        return batch
    wanted = buckets_of_partition(partition, partitions)
    offsets = _bucket_offsets(batch)
    if offsets is not None:
        return batch.select_spans([range(offsets[b], offsets[b + 1]) for b in sorted(wanted)])
    return batch.select(list(compress(range(len(batch)), map(wanted.__contains__, record_buckets(batch)))))


def roster_of_partition(roster: Iterable[RosterEntry], partition: int, partitions: int) -> list[RosterEntry]:
    """The roster rows whose patients fall in the partition (the same buckets as the records')."""
    rows = list(roster)
    if partitions == 1:
        return rows
    wanted = buckets_of_partition(partition, partitions)
    return [e for e in rows if bucket_of(e.birth_date.year, e.gender) in wanted]
