"""Measure logic edge cases beyond the published test cases: exact ages, thresholds, look-back windows,
most-recent-day rules, exclusions over numerators, exceptions, and the performance mapping."""

from __future__ import annotations

from datetime import date

import pytest
from ecqm_builders import (
    PERIOD_2025,
    at,
    blood_pressure,
    condition,
    encounter,
    lab,
    patient,
    procedure,
    vs_code,
)

from aco_sync.domain.records import Gender, Performance
from aco_sync.ecqm import codes as c
from aco_sync.ecqm import evaluate
from aco_sync.ecqm.codes import Code
from aco_sync.ecqm.model import ClinicalEntry, EntryKind, Quantity

HBA1C = vs_code("HbA1c Laboratory Test")


def diabetic(birth: str = "1970-05-05", *entries: ClinicalEntry):  # type: ignore[no-untyped-def]
    return patient(birth, encounter("2025-03-01"), condition("Diabetes", "2020-01-01"), *entries)


# ---------------------------------------------------------------- ages
@pytest.mark.parametrize(
    ("birth", "in_population"),
    [
        ("1950-12-31", True),  # turns 75 on the last day of the period: 75 is in [18, 75]
        ("1949-12-31", False),  # 76
        ("1950-01-01", True),
        ("2007-12-31", True),  # turns 18 on the last day
        ("2008-01-01", False),  # 17 at the end of the period
    ],
)
def test_cms122_age_is_taken_at_the_end_of_the_period(birth: str, in_population: bool) -> None:
    result = evaluate(diabetic(birth), "M001", PERIOD_2025)
    assert result.initial_population is in_population


def test_leap_day_birth_reaches_the_age_on_feb_28_of_a_common_year() -> None:
    # born 2008-02-29: 16 on 2025-01-01 (17 only on 2025-03-01): in the population from age 12
    p = patient("2008-02-29", encounter("2025-03-01", "Encounter to Screen for Depression"))
    assert evaluate(p, "M134", PERIOD_2025).initial_population
    p = patient("2013-02-28", encounter("2025-03-01", "Encounter to Screen for Depression"))
    assert not evaluate(p, "M134", PERIOD_2025).initial_population  # 11 at the start of the period


# ---------------------------------------------------------------- CMS122: inverse measure
@pytest.mark.parametrize(
    ("value", "performance"),
    [(9.0, Performance.NOT_MET), (9.1, Performance.MET), (7.2, Performance.NOT_MET), (12.0, Performance.MET)],
)
def test_cms122_numerator_is_glycemic_status_above_9_percent(value: float, performance: Performance) -> None:
    result = evaluate(diabetic("1970-05-05", lab(HBA1C, "2025-06-01", value)), "M001", PERIOD_2025)
    assert result.performance is performance
    assert result.numerator is (performance is Performance.MET)
    assert result.performance_date == date(2025, 6, 1)
    assert result.hba1c == value


def test_cms122_missing_glycemic_status_is_numerator_met_without_a_date() -> None:
    result = evaluate(diabetic("1970-05-05", lab(HBA1C, "2024-12-31", 6.0)), "M001", PERIOD_2025)
    assert result.numerator and result.performance is Performance.MET
    assert result.performance_date is None  # no numerator evidence: a dated result from elsewhere wins


def test_cms122_most_recent_day_counts_and_its_lowest_reading() -> None:
    entries = [
        lab(HBA1C, "2025-03-01", 12.0),
        lab(HBA1C, "2025-09-01", 10.0),
        lab(HBA1C, "2025-09-01", 8.0, hour=15),
    ]
    result = evaluate(diabetic("1970-05-05", *entries), "M001", PERIOD_2025)
    assert result.performance is Performance.NOT_MET and result.hba1c == 8.0
    assert result.performance_date == date(2025, 9, 1)


def test_cms122_a_reading_without_result_on_the_most_recent_day_is_numerator() -> None:
    entries = [lab(HBA1C, "2025-09-01", 6.0), lab(HBA1C, "2025-09-01", None, hour=15)]
    assert evaluate(diabetic("1970-05-05", *entries), "M001", PERIOD_2025).numerator


def test_cms122_glucose_management_indicator_counts_as_glycemic_status() -> None:
    gmi = lab(c.GLUCOSE_MANAGEMENT_INDICATOR, "2025-10-10", 6.5)
    assert evaluate(diabetic("1970-05-05", gmi), "M001", PERIOD_2025).performance is Performance.NOT_MET


def test_cms122_lab_must_be_final_and_a_laboratory_observation() -> None:
    from dataclasses import replace

    preliminary = replace(lab(HBA1C, "2025-06-01", 6.0), status="preliminary")
    assert evaluate(diabetic("1970-05-05", preliminary), "M001", PERIOD_2025).numerator  # counts as missing


def test_exclusion_removes_the_patient_from_the_numerator() -> None:
    hospice = encounter("2025-11-01", "Hospice Encounter")
    result = evaluate(diabetic("1970-05-05", lab(HBA1C, "2025-06-01", 11.0), hospice), "M001", PERIOD_2025)
    assert result.denominator_exclusion and not result.numerator
    assert result.performance is Performance.DENOMINATOR_EXCLUSION


@pytest.mark.parametrize(("birth", "excluded"), [("1959-12-31", True), ("1960-01-01", False)])
def test_frailty_with_advanced_illness_excludes_from_age_66(birth: str, excluded: bool) -> None:
    frail = condition("Frailty Diagnosis", "2025-02-01")
    illness = condition("Advanced Illness", "2024-03-01")  # within the year before the period
    p = diabetic(birth, frail, illness)
    assert evaluate(p, "M001", PERIOD_2025).denominator_exclusion is excluded


def test_advanced_illness_more_than_a_year_before_does_not_exclude() -> None:
    p = diabetic(
        "1950-01-01",
        condition("Frailty Diagnosis", "2025-02-01"),
        condition("Advanced Illness", "2023-12-31"),
    )
    assert not evaluate(p, "M001", PERIOD_2025).denominator_exclusion


def test_nursing_home_resident_is_excluded_by_the_last_housing_status() -> None:
    def housing(day: str, code: Code) -> ClinicalEntry:
        return ClinicalEntry(
            kind=EntryKind.OBSERVATION,
            codes=frozenset({c.HOUSING_STATUS}),
            status="final",
            categories=frozenset({"survey"}),
            start=at(day),
            end=at(day),
            value_codes=frozenset({code}),
            has_value=True,
        )

    other = Code("SNOMEDCT", "1000000")
    in_home = diabetic(
        "1950-01-01", housing("2025-01-10", other), housing("2025-05-10", c.LIVES_IN_NURSING_HOME)
    )
    moved_out = diabetic(
        "1950-01-01", housing("2025-01-10", c.LIVES_IN_NURSING_HOME), housing("2025-05-10", other)
    )
    assert evaluate(in_home, "M001", PERIOD_2025).denominator_exclusion
    assert not evaluate(moved_out, "M001", PERIOD_2025).denominator_exclusion


# ---------------------------------------------------------------- CMS165
def hypertensive(*entries: ClinicalEntry, onset: str = "2024-01-01"):  # type: ignore[no-untyped-def]
    return patient(
        "1960-01-01", encounter("2025-02-01"), condition("Essential Hypertension", onset), *entries
    )


@pytest.mark.parametrize(
    ("systolic", "diastolic", "met"), [(139, 89, True), (140, 80, False), (120, 90, False), (100, 60, True)]
)
def test_cms165_thresholds_are_strictly_below_140_over_90(systolic: int, diastolic: int, met: bool) -> None:
    result = evaluate(hypertensive(blood_pressure("2025-05-01", systolic, diastolic)), "M236", PERIOD_2025)
    assert result.numerator is met
    assert (result.systolic, result.diastolic) == (systolic, diastolic)


def test_cms165_only_the_most_recent_day_counts_and_its_lowest_readings() -> None:
    readings = [
        blood_pressure("2025-03-01", 120, 70),
        blood_pressure("2025-11-01", 150, 95),
        blood_pressure("2025-11-01", 138, 92),
    ]
    result = evaluate(hypertensive(*readings), "M236", PERIOD_2025)
    assert (result.systolic, result.diastolic) == (138, 92) and not result.numerator
    assert result.performance_date == date(2025, 11, 1)


def test_cms165_reading_in_an_emergency_encounter_does_not_count() -> None:
    emergency = encounter("2025-11-01", "Emergency Department Evaluation and Management Visit", id="ed1")
    emergency = ClinicalEntry(**{**_fields(emergency), "encounter_class": "EMER"})
    result = evaluate(
        hypertensive(emergency, blood_pressure("2025-11-01", 130, 80, encounter_id="ed1")),
        "M236",
        PERIOD_2025,
    )
    assert not result.numerator and result.performance is Performance.NOT_MET


def test_cms165_separate_systolic_and_diastolic_entries_qdm_style() -> None:
    def exam(code: Code, value: float) -> ClinicalEntry:
        return ClinicalEntry(
            kind=EntryKind.OBSERVATION,
            codes=frozenset({code}),
            status="final",
            categories=frozenset({"exam"}),
            start=at("2025-06-01"),
            end=at("2025-06-01"),
            value_quantity=Quantity(value, "mm[Hg]"),
            has_value=True,
        )

    result = evaluate(hypertensive(exam(c.SYSTOLIC_BP, 128), exam(c.DIASTOLIC_BP, 78)), "M236", PERIOD_2025)
    assert result.numerator and (result.systolic, result.diastolic) == (128, 78)


@pytest.mark.parametrize(("onset", "in_population"), [("2025-06-30", True), ("2025-07-01", False)])
def test_cms165_hypertension_must_overlap_the_first_six_months(onset: str, in_population: bool) -> None:
    assert evaluate(hypertensive(onset=onset), "M236", PERIOD_2025).initial_population is in_population


# ---------------------------------------------------------------- CMS125
def mammogram(day: str) -> ClinicalEntry:
    return ClinicalEntry(
        kind=EntryKind.OBSERVATION,
        codes=frozenset({vs_code("Mammography")}),
        status="final",
        start=at(day),
        end=at(day),
    )


@pytest.mark.parametrize(("day", "met"), [("2023-10-01", True), ("2023-09-30", False), ("2025-12-31", True)])
def test_cms125_mammography_window_starts_october_1_two_years_prior(day: str, met: bool) -> None:
    p = patient("1965-06-01", encounter("2025-04-01"), mammogram(day))
    assert evaluate(p, "M112", PERIOD_2025).numerator is met


def test_cms125_is_for_women_only() -> None:
    p = patient("1965-06-01", encounter("2025-04-01"), mammogram("2025-01-01"), gender=Gender.MALE)
    assert evaluate(p, "M112", PERIOD_2025).performance is None


def test_cms125_left_and_right_unilateral_mastectomies_exclude() -> None:
    left = procedure("Unilateral Mastectomy Left", "2010-01-01")
    right = procedure("Unilateral Mastectomy Right", "2015-01-01")
    assert evaluate(
        patient("1965-06-01", encounter("2025-04-01"), left, right), "M112", PERIOD_2025
    ).denominator_exclusion
    assert not evaluate(
        patient("1965-06-01", encounter("2025-04-01"), left), "M112", PERIOD_2025
    ).denominator_exclusion


# ---------------------------------------------------------------- CMS130
@pytest.mark.parametrize(("day", "met"), [("2016-01-01", True), ("2015-12-31", False)])
def test_cms130_colonoscopy_counts_for_nine_years_before_the_period(day: str, met: bool) -> None:
    p = patient("1960-01-01", encounter("2025-04-01"), procedure("Colonoscopy", day))
    result = evaluate(p, "M113", PERIOD_2025)
    assert result.numerator is met
    if met:
        assert result.performance_date == date(2016, 1, 1)


def test_cms130_fobt_needs_a_result() -> None:
    fobt = vs_code("Fecal Occult Blood Test (FOBT)")
    with_result = lab(fobt, "2025-05-01", 1.0)
    without = lab(fobt, "2025-05-01", None)
    assert evaluate(
        patient("1960-01-01", encounter("2025-04-01"), with_result), "M113", PERIOD_2025
    ).numerator
    assert not evaluate(
        patient("1960-01-01", encounter("2025-04-01"), without), "M113", PERIOD_2025
    ).numerator


# ---------------------------------------------------------------- CMS2
def screening(day: str, result: Code, code: Code = c.ADULT_DEPRESSION_SCREENING) -> ClinicalEntry:
    return ClinicalEntry(
        kind=EntryKind.OBSERVATION,
        codes=frozenset({code}),
        status="final",
        start=at(day),
        end=at(day),
        value_codes=frozenset({result}),
        has_value=True,
    )


@pytest.mark.parametrize(("day", "met"), [("2025-05-01", True), ("2025-04-17", True), ("2025-04-16", False)])
def test_cms2_negative_screening_within_14_days_before_the_encounter(day: str, met: bool) -> None:
    p = patient("1980-01-01", encounter("2025-05-01", "Encounter to Screen for Depression"))
    p.entries.append(screening(day, c.DEPRESSION_SCREENING_NEGATIVE))
    assert evaluate(p, "M134", PERIOD_2025).numerator is met


def test_cms2_positive_screening_needs_a_follow_up() -> None:
    p = patient("1980-01-01", encounter("2025-05-01", "Encounter to Screen for Depression"))
    p.entries.append(screening("2025-05-01", c.DEPRESSION_SCREENING_POSITIVE))
    assert evaluate(p, "M134", PERIOD_2025).performance is Performance.NOT_MET
    p.entries.append(procedure("Follow Up for Adult Depression", "2025-05-01"))
    assert evaluate(p, "M134", PERIOD_2025).performance is Performance.MET


def test_cms2_medical_reason_not_screened_is_an_exception() -> None:
    not_done = ClinicalEntry(
        kind=EntryKind.OBSERVATION,
        codes=frozenset({c.ADULT_DEPRESSION_SCREENING}),
        status="cancelled",
        issued=at("2025-05-01", 9),
        negated=True,
        not_done_reason=frozenset({vs_code("Medical Reason")}),
    )
    p = patient("1980-01-01", encounter("2025-05-01", "Encounter to Screen for Depression"), not_done)
    result = evaluate(p, "M134", PERIOD_2025)
    assert result.denominator_exception and result.performance is Performance.DENOMINATOR_EXCEPTION


# ---------------------------------------------------------------- general
def test_patient_outside_the_initial_population_has_no_performance() -> None:
    result = evaluate(patient("1980-01-01"), "M113", PERIOD_2025)
    assert result.counts() == dict.fromkeys(result.counts(), 0)
    assert result.performance is None and result.performance_date is None


def test_measurement_period_is_configurable() -> None:
    p = diabetic("1950-06-01", lab(HBA1C, "2025-06-01", 7.0))
    assert evaluate(p, "M001", PERIOD_2025).initial_population  # 75 in 2025
    assert not evaluate(p, "M001", (date(2026, 1, 1), date(2026, 12, 31))).initial_population  # no encounter


def test_unknown_measure_and_inverted_period_are_refused() -> None:
    with pytest.raises(KeyError, match="M999"):
        evaluate(patient("1980-01-01"), "M999", PERIOD_2025)
    with pytest.raises(ValueError, match="before it starts"):
        evaluate(patient("1980-01-01"), "M001", (date(2025, 12, 31), date(2025, 1, 1)))


def _fields(entry: ClinicalEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in entry.__dataclass_fields__}


def test_cms2_same_time_screenings_give_the_same_result_in_any_order() -> None:
    visit = encounter("2025-05-01", "Encounter to Screen for Depression")
    negative = screening("2025-05-01", c.DEPRESSION_SCREENING_NEGATIVE)
    positive = screening("2025-05-01", c.DEPRESSION_SCREENING_POSITIVE)
    forward = evaluate(patient("1980-01-01", visit, negative, positive), "M134", PERIOD_2025)
    backward = evaluate(patient("1980-01-01", visit, positive, negative), "M134", PERIOD_2025)
    assert forward == backward
