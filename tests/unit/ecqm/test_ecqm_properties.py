"""Property tests: for any patient, the populations are consistent (proportion-measure semantics) and
the performance follows from them; the result does not depend on the order of the patient's data."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from ecqm_builders import PERIOD_2025
from hypothesis import given, settings
from hypothesis import strategies as st

from aco_sync.domain.records import Gender, Performance
from aco_sync.ecqm import evaluate_all, supported_measures
from aco_sync.ecqm.codes import (
    ADOLESCENT_DEPRESSION_SCREENING,
    ADULT_DEPRESSION_SCREENING,
    DEPRESSION_SCREENING_NEGATIVE,
    DEPRESSION_SCREENING_POSITIVE,
    DIASTOLIC_BP,
    SYSTOLIC_BP,
    Code,
)
from aco_sync.ecqm.model import ClinicalEntry, Component, EntryKind, PatientModel, Quantity
from aco_sync.ecqm.valuesets import default_value_sets

LIBRARY = default_value_sets(2025)
SETS = {
    EntryKind.ENCOUNTER: [
        "Office Visit",
        "Telephone Visits",
        "Hospice Encounter",
        "Frailty Encounter",
        "Encounter to Screen for Depression",
        "Annual Wellness Visit",
    ],
    EntryKind.CONDITION: [
        "Diabetes",
        "Essential Hypertension",
        "Advanced Illness",
        "Frailty Diagnosis",
        "Bipolar Disorder",
        "Pregnancy",
        "Malignant Neoplasm of Colon",
    ],
    EntryKind.OBSERVATION: ["HbA1c Laboratory Test", "Mammography", "Fecal Occult Blood Test (FOBT)"],
    EntryKind.PROCEDURE: ["Colonoscopy", "Total Colectomy", "Bilateral Mastectomy", "Dialysis Services"],
}


def _code(name: str, pick: int) -> Code:
    members = sorted(LIBRARY.codes(name), key=lambda c: (c.system, c.code))
    return members[pick % len(members)]


@st.composite
def entries(draw: st.DrawFn) -> ClinicalEntry:
    kind = draw(st.sampled_from([*SETS, "bp", "screening"]))
    start = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(hours=draw(st.integers(0, 3 * 365 * 24)))
    if kind == "bp":
        return ClinicalEntry(
            EntryKind.OBSERVATION,
            frozenset({Code("LOINC", "85354-9")}),
            status="final",
            start=start,
            end=start,
            components=(
                Component(frozenset({SYSTOLIC_BP}), Quantity(draw(st.integers(90, 180)))),
                Component(frozenset({DIASTOLIC_BP}), Quantity(draw(st.integers(50, 110)))),
            ),
        )
    if kind == "screening":  # whole days, so that several screenings often share a time
        day = datetime(2025, 1, 1, 9, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 40)))
        result = draw(st.sampled_from([DEPRESSION_SCREENING_NEGATIVE, DEPRESSION_SCREENING_POSITIVE]))
        return ClinicalEntry(
            EntryKind.OBSERVATION,
            frozenset({draw(st.sampled_from([ADULT_DEPRESSION_SCREENING, ADOLESCENT_DEPRESSION_SCREENING]))}),
            status="final",
            start=day,
            end=day,
            value_codes=frozenset({result}),
            has_value=True,
        )
    code = _code(draw(st.sampled_from(SETS[kind])), draw(st.integers(0, 10_000)))
    if kind == EntryKind.CONDITION:
        return ClinicalEntry(
            kind,
            frozenset({code}),
            clinical_status="active",
            start=start,
            categories=frozenset({"problem-list-item"}),
        )
    if kind == EntryKind.OBSERVATION:
        value = draw(st.one_of(st.none(), st.floats(4, 14)))
        return ClinicalEntry(
            kind,
            frozenset({code}),
            status="final",
            categories=frozenset({"laboratory"}),
            start=start,
            end=start,
            value_quantity=None if value is None else Quantity(value),
            has_value=value is not None,
        )
    status = "finished" if kind == EntryKind.ENCOUNTER else "completed"
    return ClinicalEntry(
        kind, frozenset({code}), status=status, start=start, end=start + timedelta(minutes=30)
    )


patients = st.builds(
    lambda birth, gender, items: PatientModel("p", birth, gender, entries=items),
    st.dates(date(1935, 1, 1), date(2015, 12, 31)),
    st.sampled_from(list(Gender)),
    st.lists(entries(), max_size=25),
)


@settings(max_examples=150, deadline=None)
@given(patients, st.randoms(use_true_random=False))
def test_populations_are_consistent_and_order_independent(patient: PatientModel, rnd: random.Random) -> None:
    results = evaluate_all(patient, PERIOD_2025)
    assert set(results) == set(supported_measures(2025))
    for result in results.values():
        assert result.denominator == result.initial_population
        assert not result.denominator_exclusion or result.denominator
        assert not result.numerator or (result.denominator and not result.denominator_exclusion)
        assert not result.denominator_exception or (
            result.denominator and not result.denominator_exclusion and not result.numerator
        )
        expected = (
            None
            if not result.denominator
            else Performance.DENOMINATOR_EXCLUSION
            if result.denominator_exclusion
            else Performance.MET
            if result.numerator
            else Performance.DENOMINATOR_EXCEPTION
            if result.denominator_exception
            else Performance.NOT_MET
        )
        assert result.performance is expected
        if result.performance_date is not None:
            assert result.performance_date <= PERIOD_2025[1]
    shuffled = list(patient.entries)
    rnd.shuffle(shuffled)
    again = evaluate_all(PatientModel("p", patient.birth_date, patient.gender, entries=shuffled), PERIOD_2025)
    assert again == results
