"""Patient outcomes as parallel columns: what an engine step produces and its partition writes.

A million :class:`~aco_sync.domain.records.PatientOutcome` objects cost seconds to build and the
partition steps only serialise them again, column by column; the engine therefore builds these
columns directly (C-level ``map`` over its integer columns) and :meth:`OutcomeColumns.to_outcomes`
turns them into objects only for a consumer that wants them. Row ``i`` of every column is the
``i``-th outcome of the step's sorted outcome list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from operator import attrgetter

from aco_sync.domain.records import CollectionType, Gender, PatientOutcome, Performance

_COLLECTION_TYPES = {t.value: t for t in CollectionType}
_PERFORMANCES = {p.value: p for p in Performance}
_GENDERS: dict[str | None, Gender | None] = {None: None, **{g.value: g for g in Gender}}


@dataclass(frozen=True, slots=True)
class OutcomeColumns:
    """One list per PatientOutcome field; enums as their values, dates as day ordinals (0: none)."""

    master_pat_id: list[str]
    measure_id: list[str]
    collection_type: list[str]
    outcome: list[str]
    performance_date: list[int]
    source_tins: list[tuple[str, ...]]
    source_keys: list[tuple[str, ...]]
    gender: list[str | None]

    def __len__(self) -> int:
        return len(self.master_pat_id)

    @classmethod
    def empty(cls) -> OutcomeColumns:
        return cls([], [], [], [], [], [], [], [])

    @classmethod
    def from_outcomes(cls, outcomes: Sequence[PatientOutcome]) -> OutcomeColumns:
        return cls(
            master_pat_id=list(map(attrgetter("master_pat_id"), outcomes)),
            measure_id=list(map(attrgetter("measure_id"), outcomes)),
            collection_type=[o.collection_type.value for o in outcomes],
            outcome=[o.outcome.value for o in outcomes],
            performance_date=[o.performance_date.toordinal() if o.performance_date else 0 for o in outcomes],
            source_tins=list(map(attrgetter("source_tins"), outcomes)),
            source_keys=list(map(attrgetter("source_keys"), outcomes)),
            gender=[o.gender.value if o.gender is not None else None for o in outcomes],
        )

    def to_outcomes(self) -> list[PatientOutcome]:
        dates = {day: date.fromordinal(day) if day else None for day in set(self.performance_date)}
        return list(
            map(
                PatientOutcome,
                self.master_pat_id,
                self.measure_id,
                map(_COLLECTION_TYPES.__getitem__, self.collection_type),
                map(_PERFORMANCES.__getitem__, self.outcome),
                map(dates.__getitem__, self.performance_date),
                self.source_tins,
                self.source_keys,
                map(_GENDERS.__getitem__, self.gender),
            )
        )
