"""A compact, fast, lossless encoding of PerformanceRecords for storage between workflow steps.

Format (version 3): ``b"ACOREC3\n"`` + 4-byte little-endian header length + header JSON + blobs, each
blob zlib-compressed on its own. The layout is columnar, one column per record field; dates are day
ordinals (0 for None), enums their values. Each column is stored in the cheapest lossless way:

- ``dict``: few distinct values (TINs, measures, types, names, dates...): a JSON blob of the distinct
  values plus a blob of small unsigned indices;
- ``int``: many distinct integers (None as a sentinel value): a 64-bit integer array;
- ``str``: many distinct strings without U+001F: one UTF-8 blob joined by U+001F;
- ``json``: anything else.

No pickle: a tampered store object can never execute code. Columns are decoded lazily, on first use:
the engine reads the nine columns it needs as small integers (dictionary indices) and never touches
the others, nor creates a million record objects. :func:`decode_batch` returns a :class:`RecordBatch`,
which anything else can iterate as PerformanceRecords.
"""

from __future__ import annotations

import dataclasses
import json
import struct
import sys
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from functools import partial
from itertools import count, filterfalse
from operator import attrgetter
from typing import Any

from aco_sync.domain.bulk import gc_paused
from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.records import CollectionType, Gender, Performance, PerformanceRecord

MAGIC = b"ACOREC3\n"
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


def _from_bytes(typecode: str, data: bytes, spans: Sequence[range] | None = None) -> list[int]:
    """The integers of an array blob; ``spans``: only the rows of those spans (step 1), cut from the
    array before it becomes a list (a partition converts only its own rows)."""
    values = array(typecode)
    values.frombytes(data)
    if sys.byteorder != "little":
        values.byteswap()
    if spans is None:
        return values.tolist()
    taken = array(typecode)
    for span in spans:
        taken += values[span.start : span.stop]
    return taken.tolist()


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
        loaders: dict[str, Callable[[], list[Any] | Coded]] | None = None,
        derived: bool = False,
    ) -> None:
        self._raw: dict[str, list[Any]] = dict(columns or {})
        self._coded: dict[str, Coded] = dict(coded or {})
        self._loaders = dict(loaders or {})  # name -> decoder of a not yet decoded column
        self._derived = derived  # loaders take from batches that checked their columns: not checked again
        self.length = length
        self.cache: dict[str, Any] = {}  # derived data (e.g. the engine's patient index)

    def __len__(self) -> int:
        return self.length

    def has(self, name: str) -> bool:
        return name in self._raw or name in self._coded or name in self._loaders

    def _load(self, name: str) -> None:
        loader = self._loaders.pop(name, None)
        if loader is None:
            return
        try:
            loaded = loader()
        except _DECODE_ERRORS as error:
            raise _corrupt(name, error) from None
        if isinstance(loaded, tuple):
            if self._derived:
                self._coded[name] = loaded
                return
            if len(loaded[1]) != self.length or not _indices_fit(loaded):
                raise _corrupt(name)
            self._coded[name] = loaded
        else:
            if len(loaded) != self.length:
                raise _corrupt(name)
            self._raw[name] = loaded

    def column(self, name: str) -> list[Any]:
        self._load(name)
        values = self._raw.get(name)
        if values is None:
            if name in self._coded:
                table, indices = self._coded[name]
                values = list(map(table.__getitem__, indices))
            else:
                values = [_default(name)] * self.length if self.length else []
            self._raw[name] = values
        return values

    def coded(self, name: str) -> Coded:
        self._load(name)
        coded = self._coded.get(name)
        if coded is None:
            coded = self._coded[name] = _dictionary(self.column(name))
        return coded

    @property
    def columns(self) -> dict[str, list[Any]]:
        """Every field as a raw column (materialises all of them)."""
        return {name: self.column(name) for name in FIELDS}

    def select(self, rows: Sequence[int]) -> RecordBatch:
        """A new batch of the records at ``rows``. Lazy like a decoded batch: a column is taken on first
        use, as this batch holds it (dictionary-coded or raw; only its indices or values are taken), so
        columns nobody reads are never decoded."""
        rows = list(rows)
        return self._selected(len(rows), lambda values: list(map(values.__getitem__, rows)))

    def select_spans(self, spans: Sequence[range]) -> RecordBatch:
        """:meth:`select` of the rows of consecutive ``spans`` (step 1), taken as list slices; a column
        this batch has not decoded yet is decoded for those rows only (see :class:`_StoredColumn`)."""
        spans = list(spans)
        if any(span.step != 1 or not 0 <= span.start <= span.stop <= self.length for span in spans):
            raise ValueError("spans must be ranges of step 1 within the batch")
        return self._selected(sum(map(len, spans)), partial(_take_spans, spans=spans), spans)

    def _selected(
        self, length: int, take: Callable[[list[Any]], list[Any]], spans: list[range] | None = None
    ) -> RecordBatch:
        def loader(name: str) -> Callable[[], list[Any] | Coded]:
            def load() -> list[Any] | Coded:
                stored = self._loaders.get(name)
                if spans is not None and isinstance(stored, _StoredColumn):
                    return stored.rows(spans)  # checked there: the new batch does not check again
                self._load(name)
                if name in self._coded:
                    table, indices = self._coded[name]
                    return table, take(indices)
                return take(self._raw[name])

            return load

        return RecordBatch(length=length, loaders={n: loader(n) for n in FIELDS if self.has(n)}, derived=True)

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
        """A batch over PerformanceRecords; each column is extracted on first use (C-level ``map``)."""
        if isinstance(records, RecordBatch):
            return records
        items = list(records)  # a copy: columns are read later, the caller may change its list
        loaders: dict[str, Callable[[], list[Any] | Coded]] = {
            name: partial(_extract_column, items, name) for name in FIELDS
        }
        return cls(length=len(items), loaders=loaders)


def _extract_column(records: list[PerformanceRecord], name: str) -> list[Any] | Coded:
    values = list(map(attrgetter(name), records))
    if name in DATE_FIELDS:
        table, indices = _dictionary(values)
        return [day.toordinal() if day is not None else 0 for day in table], indices
    if name in ENUM_FIELDS:
        table, indices = _dictionary(values)
        return [member.value for member in table], indices
    return values


def _default(name: str) -> Any:
    field = next(f for f in dataclasses.fields(PerformanceRecord) if f.name == name)
    if field.default is dataclasses.MISSING:
        raise InvalidInputError(f"Encoded records lack the required column {name!r}")
    return field.default


@dataclasses.dataclass(frozen=True, slots=True)
class _EncodedColumn:
    """A column as the encoder sees it: its distinct values in first-seen order (dates as day ordinals,
    enums as their values) and, on demand, each record's index into them or each record's value."""

    table: list[Any]
    indices: Callable[[], list[int]]
    values: Callable[[], list[Any]]


def _distinct(values: list[Any]) -> list[Any]:
    """The distinct values in first-seen order (the table :func:`_dictionary` gives, in C)."""
    return list(dict.fromkeys(values))


def _indices(table: list[Any], values: list[Any]) -> list[int]:
    """Each value's index in ``table`` (its distinct values): the indices :func:`_dictionary` gives."""
    positions = dict(zip(table, range(len(table)), strict=True))  # in C: a table can hold thousands
    return list(map(positions.__getitem__, values))


def _as_is(values: list[Any]) -> list[Any]:
    return values


def _ordinals(days: list[date | None], ordinal_of: dict[date | None, int]) -> list[Any]:
    return list(map(ordinal_of.__getitem__, days))


def _batch_columns(batch: RecordBatch) -> Iterator[tuple[str, _EncodedColumn]]:
    for name in FIELDS:
        if not batch.has(name):
            continue
        batch._load(name)
        if name in batch._coded and name not in batch._raw:
            table, indices = batch._coded[name]
            yield name, _EncodedColumn(table, partial(_as_is, indices), partial(batch.column, name))
        else:
            values = batch.column(name)
            distinct = _distinct(values)
            yield name, _EncodedColumn(distinct, partial(_indices, distinct, values), partial(_as_is, values))


def _record_columns(
    records: list[PerformanceRecord], rows: list[int] | None
) -> Iterator[tuple[str, _EncodedColumn]]:
    """The columns of ``records`` (of the records at ``rows``, in that order), each taken in C-level
    passes (no Python code per record): the tables, indices and values of
    ``RecordBatch.from_records(records).select(rows)``, whose date and enum tables are those of all
    ``records`` (first seen in their order), the other tables those of the selected rows."""
    selected = records if rows is None else list(map(records.__getitem__, rows))
    for name in FIELDS:
        # an enum by its value (a str): a member hashes in Python, its value in C
        get = attrgetter(f"{name}._value_" if name in ENUM_FIELDS else name)
        values = list(map(get, selected))
        if name in DATE_FIELDS or name in ENUM_FIELDS:
            distinct = _distinct(values if selected is records else list(map(get, records)))
        else:
            distinct = _distinct(values)
        if name in DATE_FIELDS:
            ordinals = [day.toordinal() if day is not None else 0 for day in distinct]
            ordinal_of = dict(zip(distinct, ordinals, strict=True))
            column = _EncodedColumn(
                ordinals, partial(_indices, distinct, values), partial(_ordinals, values, ordinal_of)
            )
        else:
            column = _EncodedColumn(distinct, partial(_indices, distinct, values), partial(_as_is, values))
        yield name, column


def encode_records(
    records: Iterable[PerformanceRecord],
    *,
    extra: dict[str, Any] | None = None,
    rows: Sequence[int] | None = None,
) -> bytes:
    """``extra``: JSON data kept in the header (e.g. the bucket index of
    :func:`aco_sync.domain.partitions.encode_by_bucket`); :func:`decode_batch` puts it in the batch's
    ``cache``. ``rows``: only the records at these positions, in this order (as ``select(rows)``).
    PerformanceRecords are encoded straight from their attributes, a :class:`RecordBatch` from its
    columns: the same bytes either way."""
    if isinstance(records, RecordBatch):
        batch = records if rows is None else records.select(rows)
        length, columns = len(batch), _batch_columns(batch)
    else:
        items = list(records)
        selected = None if rows is None else list(rows)
        length = len(items) if selected is None else len(selected)
        columns = _record_columns(items, selected)
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

    for name, encoded in columns:
        table = encoded.table
        if len(table) <= max(1, length * _DICTIONARY_MAX_SHARE):
            typecode = _index_typecode(len(table))
            header[name] = {
                "k": "dict",
                "w": typecode,
                "t": add_json(table),
                "i": add_blob(_to_bytes(array(typecode, encoded.indices()))),
            }
            continue
        values = encoded.values()
        types = set(map(type, table))  # the checks below run in C, not per value in Python
        numbers = [v for v in table if v is not None] if types <= {int, type(None)} else []
        if types <= {int, type(None)} and (
            not numbers or _INT64[0] < min(numbers) <= max(numbers) <= _INT64[1]
        ):
            sentinel = min(numbers, default=0) - 1
            column: dict[str, Any] = {"k": "int"}
            if len(numbers) != len(table):
                column["null"] = sentinel
                values = [sentinel if v is None else v for v in values]
            column["b"] = add_blob(_to_bytes(array("q", values)))
            header[name] = column
        elif types == {str} and _SEPARATOR not in "".join(table):
            header[name] = {
                "k": "str",
                "b": add_blob(_SEPARATOR.join(values).encode("utf-8", "surrogatepass")),
            }
        else:
            header[name] = {"k": "json", "b": add_json(values)}
    document: dict[str, Any] = {"n": length, "c": header}
    if extra:
        document["x"] = extra
    header_bytes = json.dumps(document, ensure_ascii=True).encode("ascii")
    return b"".join([MAGIC, struct.pack("<I", len(header_bytes)), header_bytes, *blobs])


_DECODE_ERRORS = (zlib.error, ValueError, KeyError, TypeError, IndexError)  # what a corrupt blob raises


def _corrupt(name: str, error: BaseException | None = None) -> InvalidInputError:
    detail = f": {error.__class__.__name__}" if error is not None else ""
    return InvalidInputError(f"Encoded record file is corrupt (column {name}){detail}")


def _indices_fit(coded: Coded) -> bool:
    """Whether every index of a dictionary-coded column points into its table."""
    table, indices = coded
    return not indices or max(indices) < len(table)


def _take_spans(values: list[Any], spans: Sequence[range]) -> list[Any]:
    taken: list[Any] = []
    for span in spans:
        taken += values[span.start : span.stop]
    return taken


class _StoredColumn:
    """The decoder of one column of an encoded file: called, every row (checked by the batch's
    ``_load``); :meth:`rows`, only the rows of some spans, checked here."""

    def __init__(self, body: memoryview, column: dict[str, Any], length: int, name: str) -> None:
        self.body, self.column, self.length, self.name = body, column, length, name

    def _blob(self, ref: dict[str, int]) -> bytes:
        return zlib.decompress(self.body[ref["o"] : ref["o"] + ref["s"]])

    def __call__(self) -> list[Any] | Coded:
        return self._decode(None)

    def rows(self, spans: Sequence[range]) -> list[Any] | Coded:
        """The column's values (or coded indices) at the rows of ``spans`` (step 1, within the file)."""
        try:
            loaded = self._decode(spans)
        except _DECODE_ERRORS as error:
            raise _corrupt(self.name, error) from None
        if isinstance(loaded, tuple) and not _indices_fit(loaded):
            raise _corrupt(self.name)
        return loaded

    def _decode(self, spans: Sequence[range] | None) -> list[Any] | Coded:
        column, blob = self.column, self._blob
        kind = column["k"]
        if kind == "dict":
            table = json.loads(blob(column["t"]).decode("utf-8", "surrogatepass"))
            indices = blob(column["i"])
            if spans is not None and len(indices) != self.length * array(column["w"]).itemsize:
                raise _corrupt(self.name)
            return table, _from_bytes(column["w"], indices, spans)
        values: list[Any]
        if kind == "int":
            data = blob(column["b"])
            if spans is not None and len(data) != self.length * array("q").itemsize:
                raise _corrupt(self.name)
            values = _from_bytes("q", data, spans)
            if "null" in column:
                sentinel = column["null"]
                values = [None if v == sentinel else v for v in values]
            return values
        if kind == "str":
            values = (
                blob(column["b"]).decode("utf-8", "surrogatepass").split(_SEPARATOR) if self.length else []
            )
        elif kind == "json":
            values = list(json.loads(blob(column["b"]).decode("utf-8", "surrogatepass")))
        else:
            raise ValueError(f"unknown column kind {kind!r}")
        if spans is None:
            return values
        if len(values) != self.length:
            raise _corrupt(self.name)
        return _take_spans(values, spans)


def decode_batch(data: bytes) -> RecordBatch:
    """The records of an encoded file; columns are decompressed and decoded on first use."""
    if not data.startswith(MAGIC):
        raise InvalidInputError("Not an encoded record file (bad header)")
    try:
        (header_size,) = struct.unpack_from("<I", data, len(MAGIC))
        start = len(MAGIC) + 4
        header = json.loads(data[start : start + header_size])
        length = int(header["n"])
        body = memoryview(data)[start + header_size :]
        loaders: dict[str, Callable[[], list[Any] | Coded]] = {
            name: _StoredColumn(body, column, length, name)
            for name, column in header["c"].items()
            if name in FIELDS  # a field this version does not know (a newer writer): ignored
        }
        extra = header.get("x") or {}
        if not isinstance(extra, dict):
            raise ValueError("extra")
    except (ValueError, KeyError, TypeError, struct.error) as error:
        raise InvalidInputError(f"Encoded record file is corrupt: {error.__class__.__name__}") from None
    batch = RecordBatch(length=length, loaders=loaders)
    batch.cache.update({f"header:{key}": value for key, value in extra.items()})
    return batch


def concat_batches(batches: Iterable[RecordBatch]) -> RecordBatch:
    """One batch of the records of several (e.g. one decoded file per member TIN), still lazy and
    dictionary-coded: ``aggregate_members(concat_batches(decode_batch(b) for b in files), ...)``."""
    parts = list(batches)
    if len(parts) == 1:
        return parts[0]
    names = [name for name in FIELDS if any(part.has(name) for part in parts)]

    def loader(name: str) -> Callable[[], list[Any] | Coded]:
        def load() -> list[Any] | Coded:
            for part in parts:
                part._load(name)
            if not all(name in part._coded for part in parts):  # e.g. source keys: raw, all distinct
                values: list[Any] = []
                for part in parts:
                    values += part.column(name)
                return values
            positions: dict[Any, int] = {}
            indices: list[int] = []
            for part in parts:
                table, part_indices = part._coded[name]
                # number the values not seen in an earlier part (C-level, no Python step per value)
                fresh = list(filterfalse(positions.__contains__, dict.fromkeys(table)))
                positions.update(zip(fresh, count(len(positions))))
                remap = list(map(positions.__getitem__, table))
                if remap == list(range(len(table))):  # e.g. the first part
                    indices += part_indices
                else:
                    indices.extend(map(remap.__getitem__, part_indices))
            return list(positions), indices

        return load

    return RecordBatch(
        length=sum(len(part) for part in parts), loaders={name: loader(name) for name in names}, derived=True
    )


def decode_records(data: bytes) -> Iterator[PerformanceRecord]:
    """The records of an encoded file as PerformanceRecord objects (built at once, GC paused).
    The engine is faster with :func:`decode_batch`, which creates no record objects."""
    with gc_paused():
        records = list(decode_batch(data))
    return iter(records)
