"""AdultOutpatientEncounters: "Qualifying Encounters" (AdultOutpatientEncounters 4.11.000 for PY2025,
4.19.000 for PY2026: the same value sets; the Status library's "performed" changed)."""

from __future__ import annotations

from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.libraries.qicore_common import during_days, period_of
from aco_sync.ecqm.model import ClinicalEntry, EntryKind
from aco_sync.ecqm.populations import Criterion, criterion

QUALIFYING_ENCOUNTER = "a qualifying outpatient encounter during the measurement period"

VALUE_SETS = (
    "Office Visit",
    "Annual Wellness Visit",
    "Preventive Care Services Established Office Visit, 18 and Up",
    "Preventive Care Services Initial Office Visit, 18 and Up",
    "Home Healthcare Services",
    "Virtual Encounter",
    "Telephone Visits",
)


def qualifying_encounters(ctx: MeasureContext) -> list[ClinicalEntry]:
    """AdultOutpatientEncounters."Qualifying Encounters"."""

    def compute() -> list[ClinicalEntry]:
        return [
            e
            for e in ctx.retrieve(EntryKind.ENCOUNTER, *VALUE_SETS)
            if ctx.status.encounter_performed(e) and during_days(period_of(e), ctx.first_day, ctx.last_day)
        ]

    return ctx.memo("qualifying_encounters", compute)  # type: ignore[return-value]


def has_qualifying_encounter(encounters: list[ClinicalEntry], name: str = QUALIFYING_ENCOUNTER) -> Criterion:
    """The "exists Qualifying Encounters" criterion of an initial population, the encounters as evidence."""
    return criterion(name, encounters)
