"""A compact, fast, lossless encoding of PerformanceRecords for storage between workflow steps.

Format: ``b"ACOREC1\\n"`` + zlib(JSON). The JSON is columnar: one column per record field, dates as
day ordinals (0 for None), enums as their values; a text column with many repeats (TINs, measure ids,
names, file names) is dictionary-encoded as ``{"t": [distinct values], "i": [indices]}``, others are
stored as ``{"v": [values]}``. JSON (not pickle) so a tampered store object can never execute code.

:func:`decode_batch` returns a :class:`RecordBatch`: the columns as decoded, iterable as
PerformanceRecords. The engine (:mod:`aco_sync.domain.engine`) reads a RecordBatch's columns directly,
which skips creating a million record objects; everything else can iterate it like a list of records.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.records import CollectionType, Gender, Performance, PerformanceRecord

MAGIC = b"ACOREC1\n"
FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(PerformanceRecord))
DATE_FIELDS = frozenset({"performance_date", "birth_date"})
ENUM_FIELDS: dict[str, Any] = {
    "collection_type": CollectionType,
    "performance": Performance,
    "gender": Gender,
}
TEXT_FIELDS = frozenset(
    f.name for f in dataclasses.fields(PerformanceRecord) if "str" in str(f.type) or f.name in ENUM_FIELDS
)
_DICTIONARY_MAX_SHARE = 0.5  # dictionary-encode a column when distinct values <= half the rows


class RecordBatch:
    """Decoded records as columns (field name -> list); iterating yields PerformanceRecords.

    Date columns hold day ordinals (0 for None) in ``ordinals`` form: use :meth:`dates` for dates.
    """

    def __init__(self, columns: dict[str, list[Any]], length: int) -> None:
        self.columns = columns
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[PerformanceRecord]:
        columns = []
        for name in FIELDS:
            values = self.columns.get(name)
            if values is None:
                columns.append([_default(name)] * self.length)
            elif name in DATE_FIELDS:
                columns.append(self.dates(name))
            elif name in ENUM_FIELDS:
                enum = ENUM_FIELDS[name]
                members = {v: enum(v) for v in set(values)}
                columns.append([members[v] for v in values])
            else:
                columns.append(values)
        return map(PerformanceRecord, *columns)

    def dates(self, name: str) -> list[date | None]:
        ordinals = self.columns[name]
        lookup: dict[int, date | None] = {o: (date.fromordinal(o) if o else None) for o in set(ordinals)}
        return [lookup[o] for o in ordinals]

    @classmethod
    def from_records(cls, records: Iterable[PerformanceRecord]) -> RecordBatch:
        if isinstance(records, RecordBatch):
            return records
        columns: dict[str, list[Any]] = {name: [] for name in FIELDS}
        appenders = [(name, columns[name].append) for name in FIELDS]
        length = 0
        for record in records:
            length += 1
            for name, append in appenders:
                value = getattr(record, name)
                if name in DATE_FIELDS:
                    value = value.toordinal() if value is not None else 0
                elif name in ENUM_FIELDS:
                    value = value.value
                append(value)
        return cls(columns, length)


def _default(name: str) -> Any:
    field = next(f for f in dataclasses.fields(PerformanceRecord) if f.name == name)
    if field.default is dataclasses.MISSING:
        raise InvalidInputError(f"Encoded records lack the required column {name!r}")
    return field.default


def encode_records(records: Iterable[PerformanceRecord]) -> bytes:
    batch = RecordBatch.from_records(records)
    encoded: dict[str, Any] = {}
    for name, values in batch.columns.items():
        if name in TEXT_FIELDS:
            distinct = list(dict.fromkeys(values))
            if len(distinct) <= max(1, len(values) * _DICTIONARY_MAX_SHARE):
                positions = {v: i for i, v in enumerate(distinct)}
                encoded[name] = {"t": distinct, "i": [positions[v] for v in values]}
                continue
        encoded[name] = {"v": values}
    payload = json.dumps({"n": batch.length, "c": encoded}, ensure_ascii=False, separators=(",", ":"))
    return MAGIC + zlib.compress(payload.encode("utf-8"), 1)


def decode_batch(data: bytes) -> RecordBatch:
    if not data.startswith(MAGIC):
        raise InvalidInputError("Not an encoded record file (bad header)")
    try:
        payload = json.loads(zlib.decompress(data[len(MAGIC) :]))
    except (zlib.error, ValueError) as error:
        raise InvalidInputError(f"Encoded record file is corrupt: {error.__class__.__name__}") from None
    columns: dict[str, list[Any]] = {}
    for name, column in payload["c"].items():
        if name not in FIELDS:
            continue  # a field this version does not know (written by a newer version): ignore
        if "t" in column:
            table = column["t"]
            columns[name] = [table[i] for i in column["i"]]
        else:
            columns[name] = column["v"]
    return RecordBatch(columns, payload["n"])


def decode_records(data: bytes) -> Iterator[PerformanceRecord]:
    return iter(decode_batch(data))
