"""Where the records behind the outcomes came from (:class:`~aco_sync.reports.model.RecordSource`), read
column-wise from the records' batch: the engine partition that resolved them, or the clinics' snapshots."""

from __future__ import annotations

from collections.abc import Iterable
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
