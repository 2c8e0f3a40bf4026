"""The CQL evaluation context: one patient, the measurement period, the performance year's edition
(Status library version) and value sets. Retrieves and memoised shared-library results live here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from aco_sync.domain.errors import InvalidInputError
from aco_sync.ecqm.codes import Code
from aco_sync.ecqm.editions import Edition, edition
from aco_sync.ecqm.libraries.qicore_common import overlaps_days, period_of, prevalence
from aco_sync.ecqm.model import ClinicalEntry, EntryKind, PatientModel
from aco_sync.ecqm.timing import age_in_years_at, end_of_day, start_of_day
from aco_sync.ecqm.valuesets import ValueSetLibrary, bundled_value_sets, default_value_sets


class MeasureContext:
    """A patient, a measurement period, the performance year and value sets."""

    def __init__(
        self,
        patient: PatientModel,
        period: tuple[date, date],
        value_sets: ValueSetLibrary | None = None,
        *,
        performance_year: int | None = None,
        required_value_sets: Iterable[str] = (),
    ) -> None:
        self.patient = patient
        self.first_day, self.last_day = period
        if self.last_day < self.first_day:
            raise ValueError(f"measurement period ends ({self.last_day}) before it starts ({self.first_day})")
        self.performance_year = self.first_day.year if performance_year is None else performance_year
        self.edition: Edition = edition(self.performance_year)
        self.status = self.edition.status
        self.mp_start = start_of_day(self.first_day)
        self.mp_end = end_of_day(self.last_day)
        library = default_value_sets(self.performance_year) if value_sets is None else value_sets
        if library is not bundled_value_sets(self.performance_year):
            check_value_sets(library, required_value_sets)
        self.value_sets = library
        self.age_at_end = age_in_years_at(patient.birth_date, self.last_day)
        self.age_at_start = age_in_years_at(patient.birth_date, self.first_day)
        self._by_kind: dict[EntryKind, list[ClinicalEntry]] = {}
        for entry in patient.entries:
            self._by_kind.setdefault(entry.kind, []).append(entry)
        self._memo: dict[str, object] = {}
        self._retrieved: dict[tuple[EntryKind, tuple[str, ...], Code | None], list[ClinicalEntry]] = {}

    def retrieve(self, kind: EntryKind, *value_sets: str, code: Code | None = None) -> list[ClinicalEntry]:
        """``[Kind: "Value Set"]`` (union over several value sets) or ``[Kind: code]``. Memoised per
        context (the measures and libraries retrieve the same data many times): do not mutate the list."""
        key = (kind, value_sets, code)
        found = self._retrieved.get(key)
        if found is None:
            wanted: frozenset[Code] = frozenset({code}) if code is not None else frozenset()
            if value_sets:
                wanted = wanted | self.value_sets.union(*value_sets)
            found = [e for e in self._by_kind.get(kind, ()) if not e.codes.isdisjoint(wanted)]
            self._retrieved[key] = found
        return found

    def conditions(self, *value_sets: str) -> list[ClinicalEntry]:
        """``([ConditionProblemsHealthConcerns: ...] union [ConditionEncounterDiagnosis: ...]).verified()``
        (PY2026), or ``[Condition: ...]`` (PY2025, no verification filter)."""
        return [e for e in self.retrieve(EntryKind.CONDITION, *value_sets) if self.status.verified(e)]

    def conditions_in_period(self, value_set: str) -> list[ClinicalEntry]:
        """The :meth:`conditions` of the value set whose prevalence overlaps the measurement period."""
        first, last = self.first_day, self.last_day
        return [e for e in self.conditions(value_set) if prevalence(e).overlaps_days(first, last)]

    def encounters_in_period(self, value_set: str) -> list[ClinicalEntry]:
        """The encounters of the value set performed overlapping the measurement period (in days)."""
        first, last, performed = self.first_day, self.last_day, self.status.encounter_performed
        return [
            e
            for e in self.retrieve(EntryKind.ENCOUNTER, value_set)
            if performed(e) and overlaps_days(period_of(e), first, last)
        ]

    def entries(self, kind: EntryKind) -> list[ClinicalEntry]:
        return self._by_kind.get(kind, [])

    def in_value_set(self, codes: Iterable[Code], value_set: str) -> bool:
        return not self.value_sets.codes(value_set).isdisjoint(codes)

    def memo(self, key: str, compute: Callable[[], object]) -> object:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


def check_value_sets(value_sets: ValueSetLibrary, required: Iterable[str]) -> None:
    """Raise InvalidInputError naming the value sets the measure logic needs that are not loaded."""
    missing = value_sets.missing(required)
    if missing:
        raise InvalidInputError(
            f"value sets missing from the loaded expansions ({len(missing)}): {', '.join(missing)}"
        )
