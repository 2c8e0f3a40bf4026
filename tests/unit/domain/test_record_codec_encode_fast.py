"""encode_records / encode_by_bucket straight from PerformanceRecords give the bytes of the encoder as it
was (RecordBatch.from_records, one dictionary per column, then select for the buckets; the reference
below), on random records and on the clinics of the synthetic benchmark shape."""

from __future__ import annotations

import json
import struct
import zlib
from array import array
from datetime import date
from typing import Any

from engine_factories import performance_records
from hypothesis import given, settings
from hypothesis import strategies as st

from aco_sync.domain.partitions import BUCKET_INDEX, PARTITION_BUCKETS, encode_by_bucket, record_buckets
from aco_sync.domain.record_codec import (
    FIELDS,
    MAGIC,
    RecordBatch,
    _dictionary,
    _distinct,
    _indices,
    decode_records,
    encode_records,
)
from aco_sync.domain.records import CollectionType, Gender, Performance, PerformanceRecord
from support.bench_modules import bench_synthetic


def _reference_encode(batch: RecordBatch, extra: dict[str, Any] | None = None) -> bytes:
    """The encoder before the fast path (record_codec.encode_records of main at 51f9c38), verbatim in
    substance: a column's dictionary by ``_dictionary``, then dict / int / str / json."""
    header: dict[str, Any] = {}
    blobs: list[bytes] = []
    offset = 0

    def add_blob(data: bytes) -> dict[str, int]:
        nonlocal offset
        compressed = zlib.compress(data, 1)
        blobs.append(compressed)
        start, offset = offset, offset + len(compressed)
        return {"o": start, "s": len(compressed)}

    def add_json(value: Any) -> dict[str, int]:
        return add_blob(
            json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        )

    for name in FIELDS:
        batch._load(name)
        if name in batch._coded and name not in batch._raw:
            table, indices = batch._coded[name]
        else:
            table, indices = _dictionary(batch.column(name))
        if len(table) <= max(1, batch.length * 0.5):
            typecode = "B" if len(table) <= 0xFF else "H" if len(table) <= 0xFFFF else "I"
            header[name] = {
                "k": "dict",
                "w": typecode,
                "t": add_json(table),
                "i": add_blob(array(typecode, indices).tobytes()),
            }
            continue
        values = batch.column(name)
        numbers = [v for v in table if v is not None]
        if all(type(v) is int and -(2**63) < v <= 2**63 - 1 for v in numbers):
            sentinel = min(numbers, default=0) - 1
            column: dict[str, Any] = {"k": "int"}
            if len(numbers) != len(table):
                column["null"] = sentinel
                values = [sentinel if v is None else v for v in values]
            column["b"] = add_blob(array("q", values).tobytes())
            header[name] = column
        elif all(type(v) is str and "\x1f" not in v for v in table):
            header[name] = {"k": "str", "b": add_blob("\x1f".join(values).encode("utf-8", "surrogatepass"))}
        else:
            header[name] = {"k": "json", "b": add_json(values)}
    document: dict[str, Any] = {"n": batch.length, "c": header}
    if extra:
        document["x"] = extra
    header_bytes = json.dumps(document, ensure_ascii=True).encode("ascii")
    return b"".join([MAGIC, struct.pack("<I", len(header_bytes)), header_bytes, *blobs])


def _reference_by_bucket(records: list[PerformanceRecord]) -> bytes:
    batch = RecordBatch.from_records(records)
    buckets = record_buckets(batch)
    offsets = [0]
    for bucket in range(PARTITION_BUCKETS):
        offsets.append(offsets[-1] + buckets.count(bucket))
    grouped = batch.select(sorted(range(len(batch)), key=buckets.__getitem__))
    return _reference_encode(grouped, extra={BUCKET_INDEX: offsets})


_few = st.sampled_from(["", "a", "Ann", "Zoë", "x\x1fy", "enc-1"])  # repeats: dictionary columns
_text = _few | st.text(max_size=8)
_number = st.none() | st.integers(-(2**64), 2**64) | st.sampled_from([1, 2, 3])
_records = performance_records(
    _text,
    line=_number,
    hba1c=st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([7.0, 8.5]),
    systolic=_number,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_records, max_size=40))
def test_encoding_records_gives_the_reference_bytes(records: list[PerformanceRecord]) -> None:
    assert encode_records(records) == _reference_encode(RecordBatch.from_records(records))
    assert encode_records(RecordBatch.from_records(records)) == _reference_encode(
        RecordBatch.from_records(records)
    )
    assert encode_by_bucket(records) == _reference_by_bucket(records)
    assert encode_by_bucket(RecordBatch.from_records(records)) == _reference_by_bucket(records)
    assert list(decode_records(encode_by_bucket(records))) == sorted(
        records, key=lambda r: record_buckets(RecordBatch.from_records([r]))[0]
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([None, 0, 1, 1.0, True, "1", "a", (1,), 2**70]), max_size=30))
def test_the_fast_dictionary_is_the_dictionary(values: list[Any]) -> None:
    table = _distinct(values)
    assert (table, _indices(table, values)) == _dictionary(values)


def test_rows_select_like_a_batch() -> None:
    records = [
        PerformanceRecord(
            "111111111",
            f"k{i}",
            "M001",
            CollectionType.CQM,
            Performance.MET,
            None,
            "A",
            "B",
            date(1950 + i % 3, 1, 1),
            Gender.FEMALE,
        )
        for i in range(9)
    ]
    rows = [8, 2, 5]
    expected = _reference_encode(RecordBatch.from_records(records).select(rows))
    assert encode_records(records, rows=rows) == expected
    assert encode_records(RecordBatch.from_records(records), rows=rows) == expected


def test_the_benchmark_shape_gives_the_reference_bytes() -> None:
    aco = bench_synthetic().generate_aco(records=6_000, tins=3)
    records = list(aco.records)
    for tin in aco.tins:
        of_tin = [r for r in records if r.tin == tin]
        assert encode_by_bucket(of_tin) == _reference_by_bucket(of_tin)
        assert encode_records(of_tin) == _reference_encode(RecordBatch.from_records(of_tin))
