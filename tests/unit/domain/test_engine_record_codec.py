"""The record codec: lossless round trip, compact, safe on corrupt input."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from engine_factories import performance_records, record
from hypothesis import given, settings
from hypothesis import strategies as st

from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.record_codec import (
    RecordBatch,
    concat_batches,
    decode_batch,
    decode_records,
    encode_records,
)
from aco_sync.domain.records import CollectionType, Gender, Performance

_text = st.text(max_size=12)
_records = performance_records(
    _text,
    line=st.none() | st.integers(1, 10**6),
    hba1c=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    systolic=st.none() | st.integers(0, 300),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_records, max_size=30))
def test_round_trip_is_lossless(records):
    decoded = list(decode_records(encode_records(records)))
    assert decoded == records
    assert all(type(r.collection_type) is CollectionType and type(r.gender) is Gender for r in decoded)


def test_empty_round_trip():
    assert list(decode_records(encode_records([]))) == []


def test_encoding_is_compact():
    records = [
        dataclasses.replace(
            record(first=f"P{i % 500}", day=date(2025, 1 + i % 12, 1)),
            source_file="members/t/templates/a.csv",
            source_line=i + 2,
        )
        for i in range(5000)
    ]
    assert len(encode_records(records)) < 40 * len(records)


def test_batch_is_iterable_as_records_and_reencodes():
    records = [record(), record(perf=Performance.NOT_MET, day=None)]
    batch = decode_batch(encode_records(records))
    assert len(batch) == 2 and list(batch) == records
    assert RecordBatch.from_records(batch) is batch
    assert list(decode_records(encode_records(batch))) == records


@pytest.mark.parametrize("data", [b"", b"garbage", b"ACOREC1\nnot zlib"])
def test_corrupt_input_raises_clear_error(data):
    with pytest.raises(InvalidInputError):
        list(decode_records(data))


def test_concat_batches_keeps_every_record_in_order():
    first = [record(tin="111111111", first="Ann"), record(tin="111111111", first="Bea", day=None)]
    second = [record(tin="222222222", first="Ann", perf=Performance.NOT_MET)]
    batch = concat_batches([decode_batch(encode_records(first)), decode_batch(encode_records(second))])
    assert len(batch) == 3 and list(batch) == first + second
    assert list(decode_records(encode_records(batch))) == first + second


def test_truncated_file_raises_clear_error():
    data = encode_records([record(), record(first="Bea")])
    with pytest.raises(InvalidInputError):
        list(decode_records(data[:-10]))
