"""PalliativeCare: "Has Palliative Care in the Measurement Period" (1.11.000 PY2025, 1.18.000 PY2026)."""

from __future__ import annotations

from aco_sync.ecqm import codes as c
from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.libraries.qicore_common import overlaps_days, period_of, prevalence
from aco_sync.ecqm.model import EntryKind

VALUE_SETS = ("Palliative Care Diagnosis", "Palliative Care Encounter", "Palliative Care Intervention")


def has_palliative_care(ctx: MeasureContext) -> bool:
    """PalliativeCare."Has Palliative Care in the Measurement Period"."""
    first, last, status = ctx.first_day, ctx.last_day, ctx.status
    return (
        any(
            status.assessment_performed(e) and overlaps_days(period_of(e), first, last)
            for e in ctx.retrieve(EntryKind.OBSERVATION, code=c.FACIT_PAL)
        )
        or any(prevalence(e).overlaps_days(first, last) for e in ctx.conditions("Palliative Care Diagnosis"))
        or any(
            status.encounter_performed(e) and overlaps_days(period_of(e), first, last)
            for e in ctx.retrieve(EntryKind.ENCOUNTER, "Palliative Care Encounter")
        )
        or any(
            e.status == "completed" and overlaps_days(period_of(e), first, last)
            for e in ctx.retrieve(EntryKind.PROCEDURE, "Palliative Care Intervention")
        )
    )
