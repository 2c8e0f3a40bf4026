"""Where the records behind the outcomes came from (:class:`~aco_sync.reports.model.RecordSource`), read
column-wise from the records' batch: the engine partition that resolved them, or the clinics' snapshots."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date

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


class BatchSources(Mapping[str, RecordSource]):
    """The :class:`RecordSource` of each record of a batch by source key, built when asked for (an
    engine partition asks for the records behind its outcomes only). Values are :func:`record_sources`'."""

    def __init__(self, records: RecordBatch) -> None:
        self._records = records
        keys = records.column("source_key") if len(records) else []
        self._row = dict(zip(keys, range(len(keys)), strict=True))  # a repeated key: its last record's
        self._columns: list[list[object]] | None = None

    def __getitem__(self, key: str) -> RecordSource:
        row = self._row[key]
        if self._columns is None:
            self._columns = [
                self._records.column(name)
                for name in ("tin", "source_file", "source_line", "performance", "performance_date")
            ]
        tin, file, line, performance, day = (column[row] for column in self._columns)
        if isinstance(day, int):  # a day ordinal in the columnar form (0: no date)
            day = date.fromordinal(day).isoformat() if day else None
        return RecordSource(
            tin=str(tin),
            source_file=str(file or ""),
            source_line=line,  # type: ignore[arg-type]  # int | None in the batch
            encounter_id=encounter_id_of(key),
            performance=str(getattr(performance, "value", performance)),
            performance_date=None if day is None else str(day),
        )

    def __contains__(self, key: object) -> bool:
        return key in self._row

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)
