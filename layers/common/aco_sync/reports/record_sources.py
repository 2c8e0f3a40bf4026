"""Where the records behind the outcomes came from (:class:`~aco_sync.reports.model.RecordSource`), read
column-wise from the records' batch: the engine partition that resolved them, or the clinics' snapshots."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from itertools import islice
from typing import Any

from aco_sync.domain.record_codec import RecordBatch
from aco_sync.domain.records import PatientOutcome
from aco_sync.reports.csv_exports import chosen_source
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


class BatchSources(Mapping[str, RecordSource]):
    """The :class:`RecordSource` of each record of a batch by source key, built when asked for (an
    engine partition asks for the records behind its outcomes only). Values are :func:`record_sources`'."""

    def __init__(self, records: RecordBatch) -> None:
        self._records = records
        keys = records.column("source_key") if len(records) else []
        self._row = dict(zip(keys, range(len(keys)), strict=True))  # a repeated key: its last record's
        self._columns: list[tuple[list[Any], list[int]]] | None = None

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

    def deciding(self, outcomes: Sequence[PatientOutcome]) -> list[RecordSource | None]:
        """:func:`~aco_sync.reports.csv_exports.deciding_source` of each outcome, the sources of all the
        records behind them made column-wise at once."""
        row_of = self._row.get
        single = [o.source_keys[0] if len(o.source_keys) == 1 else None for o in outcomes]
        sources = self.at([None if key is None else row_of(key) for key in single], single)
        several = [i for i, outcome in enumerate(outcomes) if len(outcome.source_keys) > 1]
        keys = [key for i in several for key in outcomes[i].source_keys]
        candidates = iter(self.at(list(map(row_of, keys)), keys))  # all their records at once
        for i in several:
            found = [c for c in islice(candidates, len(outcomes[i].source_keys)) if c is not None]
            sources[i] = chosen_source(outcomes[i], found)
        return sources

    def __contains__(self, key: object) -> bool:
        return key in self._row

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)
