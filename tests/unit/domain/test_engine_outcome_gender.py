"""PatientOutcome.gender: every outcome the engine builds carries its patient's gender (part of the
de-duplication key), on the record-list path, the columnar batch path and the MCQM step."""

from __future__ import annotations

from datetime import date

from engine_factories import CATALOG, TIN_B, plan_for, record, roster_entry, settings

from aco_sync.domain.dedup import master_patient_id
from aco_sync.domain.engine import aggregate_mcqm, aggregate_members
from aco_sync.domain.record_codec import decode_batch, encode_records
from aco_sync.domain.records import CollectionType, Gender, Performance, PerformanceRecord
from pseudonym_keys import TEST_KEY

C, E, M = CollectionType.CQM, CollectionType.ECQM, CollectionType.MCQM
BIRTH = date(1950, 1, 2)


def _records() -> list[PerformanceRecord]:
    return [
        record(first="Ann", gender=Gender.FEMALE, measure="M236", ct=E),
        record(first="ANN ", gender=Gender.FEMALE, measure="M236", ct=E, tin=TIN_B, perf=Performance.NOT_MET),
        record(first="Bob", gender=Gender.MALE, measure="M236", ct=E),
        record(first="Bob", gender=Gender.MALE, measure="M001", ct=C),
        record(first="Kim", gender=Gender.UNKNOWN, measure="M236", ct=E),
        # Same name and birth date, other gender: another patient, with that gender.
        record(first="Kim", gender=Gender.FEMALE, measure="M236", ct=E, tin=TIN_B),
    ]


def _expected_genders() -> dict[str, Gender]:
    return {
        master_patient_id(r.first_name, r.last_name, r.birth_date, r.gender, pseudonym_key=TEST_KEY): r.gender
        for r in _records()
    }


def test_member_outcomes_carry_the_patients_gender() -> None:
    records = _records()
    result = aggregate_members(records, plan_for(records), catalog=CATALOG, pseudonym_key=TEST_KEY)
    expected = _expected_genders()
    assert len(expected) == 4  # Ann, Bob, Kim (U), Kim (F)
    assert len(result.outcomes) == 5  # Bob has two measures
    assert {o.master_pat_id: o.gender for o in result.outcomes} == expected
    assert sorted(o.gender for o in result.outcomes if o.measure_id == "M236") == sorted(
        [Gender.FEMALE, Gender.MALE, Gender.UNKNOWN, Gender.FEMALE]
    )
    assert all(isinstance(o.gender, Gender) for o in result.outcomes)


def test_batch_path_gives_the_same_genders_as_the_record_list() -> None:
    records = _records()
    plan = plan_for(records)
    from_list = aggregate_members(records, plan, catalog=CATALOG, pseudonym_key=TEST_KEY).outcomes
    from_batch = aggregate_members(
        decode_batch(encode_records(records)), plan, catalog=CATALOG, pseudonym_key=TEST_KEY
    ).outcomes
    assert from_batch == from_list
    assert {o.master_pat_id: o.gender for o in from_batch} == _expected_genders()


def test_mcqm_outcomes_carry_the_patients_gender() -> None:
    records = [
        record(first="Ann", gender=Gender.FEMALE, measure="M236", ct=M),
        record(first="Bob", gender=Gender.MALE, measure="M236", ct=M),
    ]
    roster = [
        roster_entry(first="Ann", gender=Gender.FEMALE, mbi="1EG4TE5MK73"),
        roster_entry(first="Bob", gender=Gender.MALE, mbi="1EG4TE5MK74"),
    ]
    plan = plan_for(records)
    result = aggregate_mcqm(
        records, [], plan, roster, settings=settings(), catalog=CATALOG, pseudonym_key=TEST_KEY
    )
    assert {o.master_pat_id: o.gender for o in result.outcomes} == {
        master_patient_id("Ann", "Lee", BIRTH, Gender.FEMALE, pseudonym_key=TEST_KEY): Gender.FEMALE,
        master_patient_id("Bob", "Lee", BIRTH, Gender.MALE, pseudonym_key=TEST_KEY): Gender.MALE,
    }
    assert {o.collection_type for o in result.outcomes} == {M}
