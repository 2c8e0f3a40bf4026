"""Small builders of patient models for eCQM logic tests (codes taken from the bundled value sets)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from aco_sync.domain.records import Gender
from aco_sync.ecqm import codes as c
from aco_sync.ecqm.codes import Code
from aco_sync.ecqm.model import ClinicalEntry, Component, EntryKind, PatientModel, Quantity
from aco_sync.ecqm.valuesets import default_value_sets

PERIOD_2025 = (date(2025, 1, 1), date(2025, 12, 31))


def vs_code(value_set: str, system: str | None = None) -> Code:
    """A deterministic member of a bundled value set (optionally of one code system)."""
    members = sorted(default_value_sets(2025).codes(value_set), key=lambda code: (code.system, code.code))
    return next(code for code in members if system is None or code.system == system)


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def encounter(
    day: str, value_set: str = "Office Visit", *, status: str = "finished", **kw: object
) -> ClinicalEntry:
    return ClinicalEntry(
        kind=EntryKind.ENCOUNTER,
        codes=frozenset({vs_code(value_set)}),
        status=status,
        start=at(day),
        end=at(day, 10),
        **kw,  # type: ignore[arg-type]
    )


def condition(value_set: str, onset: str, abatement: str | None = None, **kw: object) -> ClinicalEntry:
    return ClinicalEntry(
        kind=EntryKind.CONDITION,
        codes=frozenset({vs_code(value_set)}),
        clinical_status="active" if abatement is None else "resolved",
        categories=frozenset({"problem-list-item"}),
        start=at(onset, 0),
        end=at(abatement, 0) if abatement else None,
        **kw,  # type: ignore[arg-type]
    )


def lab(code: Code, day: str, value: float | None, *, hour: int = 9) -> ClinicalEntry:
    return ClinicalEntry(
        kind=EntryKind.OBSERVATION,
        codes=frozenset({code}),
        status="final",
        categories=frozenset({"laboratory"}),
        start=at(day, hour),
        end=at(day, hour),
        value_quantity=Quantity(value, "%") if value is not None else None,
        has_value=value is not None,
    )


def blood_pressure(day: str, systolic: float, diastolic: float, *, encounter_id: str = "") -> ClinicalEntry:
    return ClinicalEntry(
        kind=EntryKind.OBSERVATION,
        codes=frozenset({Code("LOINC", "85354-9")}),
        status="final",
        categories=frozenset({"vital-signs"}),
        start=at(day),
        end=at(day),
        components=(
            Component(frozenset({c.SYSTOLIC_BP}), Quantity(systolic, "mm[Hg]")),
            Component(frozenset({c.DIASTOLIC_BP}), Quantity(diastolic, "mm[Hg]")),
        ),
        encounter_id=encounter_id,
    )


def procedure(value_set: str, day: str) -> ClinicalEntry:
    return ClinicalEntry(
        kind=EntryKind.PROCEDURE,
        codes=frozenset({vs_code(value_set)}),
        status="completed",
        start=at(day),
        end=at(day, 10),
    )


def patient(birth: str, *entries: ClinicalEntry, gender: Gender = Gender.FEMALE) -> PatientModel:
    return PatientModel(
        patient_id="p1",
        birth_date=date.fromisoformat(birth),
        gender=gender,
        first_name="Test",
        last_name="Patient",
        entries=list(entries),
    )
