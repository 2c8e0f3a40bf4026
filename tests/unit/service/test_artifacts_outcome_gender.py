"""Outcome artifacts store the patient's gender and still read files written before it existed."""

from __future__ import annotations

import json
from datetime import date

import pytest

from aco_sync.domain.records import CollectionType, Gender, PatientOutcome, Performance
from aco_sync.service.artifacts import (
    aggregation_from_json,
    aggregation_to_json,
    outcome_from_dict,
    outcome_to_dict,
)


def _outcome(gender: Gender | None) -> PatientOutcome:
    return PatientOutcome(
        master_pat_id="MP0123456789ABCDEF",
        measure_id="M236",
        collection_type=CollectionType.ECQM,
        outcome=Performance.MET,
        performance_date=date(2025, 3, 1),
        source_tins=("111111111", "222222222"),
        source_keys=("111111111:row1", "222222222:row9"),
        gender=gender,
    )


@pytest.mark.parametrize("gender", [Gender.FEMALE, Gender.MALE, Gender.UNKNOWN, None])
def test_outcome_round_trips_with_its_gender(gender: Gender | None) -> None:
    outcome = _outcome(gender)
    stored = json.loads(json.dumps(outcome_to_dict(outcome)))
    assert stored["gender"] == (gender.value if gender else None)
    assert outcome_from_dict(stored) == outcome


def test_aggregation_file_round_trips_genders() -> None:
    outcomes = [_outcome(Gender.FEMALE), _outcome(Gender.MALE), _outcome(None)]
    restored, stats = aggregation_from_json(aggregation_to_json(outcomes, [], []))
    assert restored == outcomes
    assert [o.gender for o in restored] == [Gender.FEMALE, Gender.MALE, None]
    assert stats == []


def test_older_files_without_gender_still_load() -> None:
    stored = outcome_to_dict(_outcome(Gender.FEMALE))
    del stored["gender"]
    older = json.dumps({"outcomes": [stored], "stats": [], "log": []}).encode()
    (restored,), _ = aggregation_from_json(older)
    assert restored.gender is None
    assert restored == _outcome(None)
