"""Hospice: "Has Hospice Services" (Hospice 6.12.000 for PY2025, 6.18.000 for PY2026)."""

from __future__ import annotations

from aco_sync.ecqm import codes as c
from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.libraries.qicore_common import (
    during_days,
    ends_during_days,
    overlaps_days,
    period_of,
)
from aco_sync.ecqm.model import EntryKind
from aco_sync.ecqm.populations import Criterion, criterion
from aco_sync.ecqm.timing import point

VALUE_SETS = ("Encounter Inpatient", "Hospice Encounter", "Hospice Care Ambulatory", "Hospice Diagnosis")


def has_hospice_services(ctx: MeasureContext) -> Criterion:
    """Hospice."Has Hospice Services" (the records that show it as evidence)."""
    return ctx.memo("hospice", lambda: _hospice(ctx))  # type: ignore[return-value]


def _hospice(ctx: MeasureContext) -> Criterion:
    first, last, status = ctx.first_day, ctx.last_day, ctx.status
    hospice_discharges = {c.DISCHARGE_TO_HOME_FOR_HOSPICE, c.DISCHARGE_TO_FACILITY_FOR_HOSPICE}
    found = (
        [
            e
            for e in ctx.retrieve(EntryKind.ENCOUNTER, "Encounter Inpatient")
            if status.encounter_performed(e)
            and not e.discharge_disposition.isdisjoint(hospice_discharges)
            and ends_during_days(period_of(e), first, last)
        ]
        + ctx.encounters_in_period("Hospice Encounter")
        + [
            e
            for e in ctx.retrieve(EntryKind.OBSERVATION, code=c.HOSPICE_CARE_MDS)
            if status.assessment_performed(e)
            and c.YES_QUALIFIER in e.value_codes
            and overlaps_days(period_of(e), first, last)
        ]
        + [
            e
            for e in ctx.retrieve(EntryKind.SERVICE_REQUEST, "Hospice Care Ambulatory")
            if status.order_placed(e) and during_days(point(e.authored_on), first, last)
        ]
        + [
            e
            for e in ctx.retrieve(EntryKind.PROCEDURE, "Hospice Care Ambulatory")
            if e.status == "completed" and overlaps_days(period_of(e), first, last)
        ]
        + ctx.conditions_in_period("Hospice Diagnosis")
    )
    return criterion("hospice services during the measurement period", found)
