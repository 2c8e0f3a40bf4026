"""Where the records behind the outcomes came from (:class:`~aco_sync.reports.model.RecordSource`), read
column-wise from the records' batch: the engine partition that resolved them, or the clinics' snapshots."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from itertools import accumulate, chain, compress, repeat
from operator import add, eq, mul
from typing import Any, NamedTuple, cast

from aco_sync.domain.outcome_columns import OutcomeColumns
from aco_sync.domain.record_codec import RecordBatch
from aco_sync.reports.model import RecordSource


def encounter_id_of(source_key: str) -> str | None:
    """The template's encounter id in a source key ``{tin}:template:{encounter_id}:{measure}:{type}``."""
    parts = source_key.split(":")
    if len(parts) >= 5 and parts[1] == "template":
        return ":".join(parts[2:-2])
    return None


def record_sources(records: RecordBatch, keys: Iterable[str]) -> dict[str, RecordSource]:
    """Where each record behind ``keys`` came from (TIN, file, row, encounter id), read column-wise."""
    wanted = set(keys)
    if not wanted or not len(records):
        return {}
    columns = [
        records.column(name)
        for name in ("source_key", "tin", "source_file", "source_line", "performance", "performance_date")
    ]
    sources: dict[str, RecordSource] = {}
    for key, tin, file, line, performance, day in zip(*columns, strict=True):
        if key in wanted:
            if isinstance(day, int):  # a day ordinal in the columnar form (0: no date)
                day = date.fromordinal(day).isoformat() if day else None
            sources[key] = RecordSource(
                tin=str(tin),
                source_file=str(file or ""),
                source_line=line,
                encounter_id=encounter_id_of(key),
                performance=str(getattr(performance, "value", performance)),
                performance_date=None if day is None else str(day),
            )
    return sources


def _iso_day(day: Any) -> str | None:
    if isinstance(day, int):  # a day ordinal in the columnar form (0: no date)
        return date.fromordinal(day).isoformat() if day else None
    return None if day is None else str(day)


def iso_days(days: Sequence[int]) -> list[str | None]:
    """The ISO dates of a column of day ordinals (0: no date), each distinct day converted once."""
    text = {day: _iso_day(day) for day in set(days)}
    return list(map(text.__getitem__, days))


def _ranks(values: Sequence[Any]) -> list[int]:
    """Each value's rank among the distinct values, in their sort order."""
    rank = {value: r for r, value in enumerate(sorted(set(values)))}
    return list(map(rank.__getitem__, values))


def _codes(values: Sequence[Any]) -> tuple[dict[Any, int], list[int]]:
    """A code per distinct value, and each value's."""
    code = {value: c for c, value in enumerate(dict.fromkeys(values))}
    return code, list(map(code.__getitem__, values))


class _RowColumns:
    """The columns of a batch that the deciding records are chosen by and shown with, as
    :class:`RecordSource` holds them, read at the rows asked for; row ``none`` is no record's (None)."""

    def __init__(self, records: RecordBatch) -> None:
        def converted(name: str, convert: Callable[[Any], Any]) -> tuple[list[Any], list[int]]:
            table, indices = records.coded(name)
            return [*map(convert, table), None], [*indices, len(table)]  # + the ``none`` row's

        self.none = len(records)
        self.key: list[str] = records.column("source_key")
        self._lines: list[int | None] = [*records.column("source_line"), None]
        self._tin = converted("tin", str)
        self._file = converted("source_file", lambda file: str(file or ""))
        self._day = converted("performance_date", _iso_day)
        performances, self._performance_indices = converted(
            "performance", lambda p: str(getattr(p, "value", p))
        )
        # chosen_source's order of (date, TIN, file): each value's rank among the column's
        self._ranked = [
            (_ranks([value or "" for value in table]), indices)
            for table, indices in (self._day, self._tin, self._file)
        ]
        # a record's (performance, date) as one integer: the codes of their texts
        self.day_code, self._day_codes = _codes(self._day[0])
        self.performance_code, self._performance_codes = _codes(performances)

    def rank(self, rows: Sequence[int]) -> list[int]:
        """One integer per record at ``rows`` in ``chosen_source``'s order of (date, TIN, file, row)."""
        rank = [0] * len(rows)
        for ranks, indices in self._ranked:
            width = max(ranks, default=0) + 1
            rank = list(
                map(
                    add, map(mul, rank, repeat(width)), map(ranks.__getitem__, map(indices.__getitem__, rows))
                )
            )
        numbers = [self._lines[row] or 0 for row in rows]
        low, high = min(numbers, default=0), max(numbers, default=0)
        return list(map(add, map(mul, rank, repeat(high - low + 1)), map(add, numbers, repeat(-low))))

    def outcome(self, rows: Sequence[int]) -> list[int]:
        """The (performance, date) of the records at ``rows`` as :meth:`outcome_code`'s integers."""
        width = len(self.day_code)
        performances = map(
            self._performance_codes.__getitem__, map(self._performance_indices.__getitem__, rows)
        )
        days = map(self._day_codes.__getitem__, map(self._day[1].__getitem__, rows))
        return list(map(add, map(mul, performances, repeat(width)), days))

    def outcome_code(self, performance: str, day: str | None) -> int:
        """The :meth:`outcome` of a record of that performance and date (-1: no record's)."""
        if performance not in self.performance_code or day not in self.day_code:
            return -1
        return self.performance_code[performance] * len(self.day_code) + self.day_code[day]

    def where(self, rows: Sequence[int]) -> DecidingRecords:
        """The TIN, file, row and encounter id of the records at ``rows``."""

        def column(coded: tuple[list[Any], list[int]]) -> list[Any]:
            table, indices = coded
            return list(map(table.__getitem__, map(indices.__getitem__, rows)))

        none, keys = self.none, self.key
        return DecidingRecords(
            tin=column(self._tin),
            source_file=column(self._file),
            source_line=list(map(self._lines.__getitem__, rows)),
            encounter_id=[None if row == none else encounter_id_of(keys[row]) for row in rows],
        )


class DecidingRecords(NamedTuple):
    """Where each outcome's deciding record came from, as columns in the outcomes' order (None: no
    record): what patients.csv and the gap lists show of it."""

    tin: list[str | None]
    source_file: list[str | None]
    source_line: list[int | None]
    encounter_id: list[str | None]

    @classmethod
    def of_sources(cls, sources: Sequence[RecordSource | None]) -> DecidingRecords:
        cells = [(None, None, None, None) if s is None else s[:4] for s in sources]
        return cls(*map(list, zip(*cells, strict=True))) if cells else cls([], [], [], [])


class BatchSources(Mapping[str, RecordSource]):
    """The :class:`RecordSource` of each record of a batch by source key, built when asked for (an
    engine partition asks for the records behind its outcomes only). Values are :func:`record_sources`'."""

    def __init__(self, records: RecordBatch) -> None:
        self._records = records
        keys = records.column("source_key") if len(records) else []
        self._row = dict(zip(keys, range(len(keys)), strict=True))  # a repeated key: its last record's
        self._columns: list[tuple[list[Any], list[int]]] | None = None
        self._by_row: _RowColumns | None = None

    def __getitem__(self, key: str) -> RecordSource:
        source = self.at([self._row[key]], [key])[0]
        assert source is not None
        return source

    def _values(self, name: str, convert: Callable[[Any], Any]) -> tuple[list[Any], list[int]]:
        """A column as its converted distinct values and each row's index into them."""
        table, indices = self._records.coded(name)
        return list(map(convert, table)), indices

    def at(self, rows: Sequence[int | None], keys: Sequence[str | None]) -> list[RecordSource | None]:
        """The sources of the records at ``rows`` (None: none), whose source keys are ``keys``."""
        present = [i for i, row in enumerate(rows) if row is not None]
        if not present:
            return [None] * len(rows)
        if self._columns is None:
            lines = self._records.column("source_line")
            self._columns = [
                self._values("tin", str),
                self._values("source_file", lambda file: str(file or "")),
                (lines, list(range(len(lines)))),
                self._values("performance", lambda p: str(getattr(p, "value", p))),
                self._values("performance_date", _iso_day),
            ]
        at = [row for row in rows if row is not None]
        tin, file, line, performance, day = (
            map(values.__getitem__, map(indices.__getitem__, at)) for values, indices in self._columns
        )
        made = map(
            RecordSource,
            tin,
            file,
            line,
            map(encounter_id_of, [str(keys[i]) for i in present]),
            performance,
            day,
        )
        sources: list[RecordSource | None] = [None] * len(rows)
        for i, source in zip(present, made, strict=True):
            sources[i] = source
        return sources

    def deciding_records(self, outcomes: OutcomeColumns) -> DecidingRecords:
        """:func:`~aco_sync.reports.csv_exports.deciding_source` of each outcome, column-wise: each record
        behind the outcomes scores one integer ordering them as ``chosen_source`` does (the outcome's
        performance and date first, then the latest by date, TIN, file and row), and each outcome takes
        its first record of the highest score (``max``'s first, as ``chosen_source``'s)."""
        if not len(outcomes):
            return DecidingRecords([], [], [], [])
        by_row = self._row_columns()
        sizes = list(map(len, outcomes.source_keys))
        looked_up = list(map(self._row.get, chain.from_iterable(outcomes.source_keys)))
        owners = list(chain.from_iterable(map(repeat, range(len(sizes)), sizes)))
        if None in looked_up:  # records not in the batch: not candidates
            found = [row is not None for row in looked_up]
            looked_up, owners = list(compress(looked_up, found)), list(compress(owners, found))
            sizes = [0] * len(sizes)
            for owner in owners:
                sizes[owner] += 1
        rows = cast("list[int]", looked_up)  # the candidates' rows: no None left
        wanted = list(map(by_row.outcome_code, outcomes.outcome, iso_days(outcomes.performance_date)))
        exact = map(eq, by_row.outcome(rows), map(wanted.__getitem__, owners))
        rank = by_row.rank(rows)
        score = list(map(add, map(mul, exact, repeat(max(rank, default=0) + 1)), rank))  # exact first
        best = score.__getitem__
        none = by_row.none
        chosen = [
            none if size == 0 else rows[end - 1] if size == 1 else rows[max(range(end - size, end), key=best)]
            for size, end in zip(sizes, accumulate(sizes), strict=True)
        ]
        return by_row.where(chosen)

    def _row_columns(self) -> _RowColumns:
        if self._by_row is None:
            self._by_row = _RowColumns(self._records)
        return self._by_row

    def __contains__(self, key: object) -> bool:
        return key in self._row

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)
