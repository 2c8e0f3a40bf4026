"""PalliativeCare: "Has Palliative Care in the Measurement Period" (1.11.000 PY2025, 1.18.000 PY2026)."""

from __future__ import annotations

from aco_sync.ecqm import codes as c
from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.libraries.qicore_common import overlaps_days, period_of
from aco_sync.ecqm.model import EntryKind
from aco_sync.ecqm.populations import Criterion, criterion

VALUE_SETS = ("Palliative Care Diagnosis", "Palliative Care Encounter", "Palliative Care Intervention")


def has_palliative_care(ctx: MeasureContext) -> Criterion:
    """PalliativeCare."Has Palliative Care in the Measurement Period" (the records as evidence)."""
    return ctx.memo("palliative", lambda: _palliative(ctx))  # type: ignore[return-value]


def _palliative(ctx: MeasureContext) -> Criterion:
    first, last, status = ctx.first_day, ctx.last_day, ctx.status
    found = (
        [
            e
            for e in ctx.retrieve(EntryKind.OBSERVATION, code=c.FACIT_PAL)
            if status.assessment_performed(e) and overlaps_days(period_of(e), first, last)
        ]
        + ctx.conditions_in_period("Palliative Care Diagnosis")
        + ctx.encounters_in_period("Palliative Care Encounter")
        + [
            e
            for e in ctx.retrieve(EntryKind.PROCEDURE, "Palliative Care Intervention")
            if e.status == "completed" and overlaps_days(period_of(e), first, last)
        ]
    )
    return criterion("palliative care during the measurement period", found)
