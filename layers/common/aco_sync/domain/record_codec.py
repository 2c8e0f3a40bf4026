"""A compact, fast, lossless encoding of PerformanceRecords for storage between workflow steps.

Format (version 2): ``b"ACOREC2\\n"`` + zlib( 4-byte little-endian header length + header JSON + binary
blobs ). The layout is columnar, one column per record field; dates are day ordinals (0 for None), enums
their values. Each column is stored in the cheapest lossless way:

- ``dict``: few distinct values (TINs, measures, types, names, dates...): the distinct values as JSON
  plus an array of small unsigned indices;
- ``int``: many distinct integers: a 64-bit integer array;
- ``str``: many distinct strings without U+001F: one UTF-8 blob joined by U+001F;
- ``json``: anything else.

No pickle: a tampered store object can never execute code. Decoding is mostly memcpy and C-level
list operations. :func:`decode_batch` returns a :class:`RecordBatch` that keeps the dictionary-coded
columns coded, so the engine (:mod:`aco_sync.domain.engine`) works on small integers and never creates a
million record objects; anything else can iterate the batch as PerformanceRecords.
"""

from __future__ import annotations

import dataclasses
import json
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.records import CollectionType, Gender, Performance, PerformanceRecord

MAGIC = b"ACOREC2\n"
FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(PerformanceRecord))
DATE_FIELDS = frozenset({"performance_date", "birth_date"})
ENUM_FIELDS: dict[str, Any] = {
    "collection_type": CollectionType,
    "performance": Performance,
    "gender": Gender,
}
_SEPARATOR = "\x1f"
_DICTIONARY_MAX_SHARE = 0.5  # dictionary-encode a column when distinct values <= half the rows
_INT64 = (-(2**63), 2**63 - 1)

Coded = tuple[list[Any], list[int]]
"""(distinct values, per-record index into them)."""


def _index_typecode(size: int) -> str:
    return "B" if size <= 0xFF else "H" if size <= 0xFFFF else "I"


def _to_bytes(values: array) -> bytes:  # type: ignore[type-arg]
    if sys.byteorder != "little":
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _from_bytes(typecode: str, data: bytes) -> list[int]:
    values = array(typecode)
    values.frombytes(data)
    if sys.byteorder != "little":
        values.byteswap()
    return values.tolist()


def _dictionary(values: list[Any]) -> Coded:
    positions: dict[Any, int] = {}
    setdefault = positions.setdefault
    indices = [setdefault(v, len(positions)) for v in values]
    return list(positions), indices


class RecordBatch:
    """Records as columns; iterating yields PerformanceRecords.

    Columns are kept either raw (field name -> list of values) or dictionary-coded (distinct values +
    indices); :meth:`column` and :meth:`coded` convert on demand and cache. Date columns hold day
    ordinals (0 for None), enum columns their string values.
    """

    def __init__(
        self,
        columns: dict[str, list[Any]] | None = None,
        length: int = 0,
        *,
        coded: dict[str, Coded] | None = None,
    ) -> None:
        self._raw: dict[str, list[Any]] = dict(columns or {})
        self._coded: dict[str, Coded] = dict(coded or {})
        self.length = length
        self.cache: dict[str, Any] = {}  # derived data (e.g. the engine's patient index)

    def __len__(self) -> int:
        return self.length

    def has(self, name: str) -> bool:
        return name in self._raw or name in self._coded

    def column(self, name: str) -> list[Any]:
        values = self._raw.get(name)
        if values is None:
            if name in self._coded:
                table, indices = self._coded[name]
                values = list(map(table.__getitem__, indices))
            else:
                values = [_default(name)] * self.length
            self._raw[name] = values
        return values

    def coded(self, name: str) -> Coded:
        coded = self._coded.get(name)
        if coded is None:
            coded = self._coded[name] = _dictionary(self.column(name))
        return coded

    @property
    def columns(self) -> dict[str, list[Any]]:
        """Every field as a raw column (materialises all of them)."""
        return {name: self.column(name) for name in FIELDS}

    def take(self, indices: list[int]) -> RecordBatch:
        """A new batch with the records at ``indices``."""
        columns = {name: list(map(self.column(name).__getitem__, indices)) for name in FIELDS}
        return RecordBatch(columns, len(indices))

    def __iter__(self) -> Iterator[PerformanceRecord]:
        columns: list[Iterator[Any]] = []
        for name in FIELDS:
            if name in DATE_FIELDS:
                table, indices = self.coded(name)
                dates = [date.fromordinal(o) if o else None for o in table]
                columns.append(map(dates.__getitem__, indices))
            elif name in ENUM_FIELDS:
                enum = ENUM_FIELDS[name]
                table, indices = self.coded(name)
                members = [enum(v) for v in table]
                columns.append(map(members.__getitem__, indices))
            else:
                columns.append(iter(self.column(name)))
        return map(PerformanceRecord, *columns)

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
    header: dict[str, Any] = {}
    blobs: list[bytes] = []
    offset = 0

    def add_blob(data: bytes) -> tuple[int, int]:
        nonlocal offset
        blobs.append(data)
        start, offset = offset, offset + len(data)
        return start, len(data)

    for name in FIELDS:
        if not batch.has(name):
            continue
        if name in batch._coded and name not in batch._raw:
            table, indices = batch._coded[name]
        else:
            values = batch.column(name)
            table, indices = _dictionary(values)
        if len(table) <= max(1, batch.length * _DICTIONARY_MAX_SHARE):
            typecode = _index_typecode(len(table))
            start, size = add_blob(_to_bytes(array(typecode, indices)))
            header[name] = {"k": "dict", "t": table, "w": typecode, "o": start, "s": size}
            continue
        values = batch.column(name)
        if all(type(v) is int and _INT64[0] <= v <= _INT64[1] for v in table):
            start, size = add_blob(_to_bytes(array("q", values)))
            header[name] = {"k": "int", "o": start, "s": size}
        elif all(type(v) is str and _SEPARATOR not in v for v in table):
            start, size = add_blob(_SEPARATOR.join(values).encode("utf-8", "surrogatepass"))
            header[name] = {"k": "str", "o": start, "s": size}
        else:
            header[name] = {"k": "json", "v": values}
    header_bytes = json.dumps({"n": batch.length, "c": header}, ensure_ascii=True).encode("ascii")
    body = b"".join([struct.pack("<I", len(header_bytes)), header_bytes, *blobs])
    return MAGIC + zlib.compress(body, 1)


def decode_batch(data: bytes) -> RecordBatch:
    if not data.startswith(MAGIC):
        raise InvalidInputError("Not an encoded record file (bad header)")
    try:
        body = zlib.decompress(data[len(MAGIC) :])
        (header_size,) = struct.unpack_from("<I", body)
        header = json.loads(body[4 : 4 + header_size])
        blobs = memoryview(body)[4 + header_size :]
        length = int(header["n"])
        raw: dict[str, list[Any]] = {}
        coded: dict[str, Coded] = {}
        for name, column in header["c"].items():
            if name not in FIELDS:
                continue  # a field this version does not know (written by a newer version): ignore
            kind = column["k"]
            if kind == "json":
                raw[name] = column["v"]
                continue
            blob = bytes(blobs[column["o"] : column["o"] + column["s"]])
            if kind == "dict":
                coded[name] = (column["t"], _from_bytes(column["w"], blob))
            elif kind == "int":
                raw[name] = _from_bytes("q", blob)
            elif kind == "str":
                raw[name] = blob.decode("utf-8", "surrogatepass").split(_SEPARATOR) if length else []
            else:
                raise ValueError(f"unknown column kind {kind!r}")
        for name, values in raw.items():
            if len(values) != length:
                raise ValueError(f"column {name} has {len(values)} values, expected {length}")
        for name, (table, indices) in coded.items():
            if len(indices) != length or (indices and max(indices) >= len(table)):
                raise ValueError(f"column {name} is inconsistent")
    except (zlib.error, ValueError, KeyError, TypeError, struct.error) as error:
        raise InvalidInputError(f"Encoded record file is corrupt: {error.__class__.__name__}") from None
    return RecordBatch(raw, length, coded=coded)


def decode_records(data: bytes) -> Iterator[PerformanceRecord]:
    return iter(decode_batch(data))
