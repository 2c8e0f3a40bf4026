"""Edge cases of the engine: empty inputs, an empty roster, record batches vs record lists."""

from __future__ import annotations

import random
from datetime import date

from engine_factories import CATALOG, TIN_A, TIN_B, TIN_C, plan_for, record, roster_entry, settings

from aco_sync.domain.collection_types import MeasurePlan
from aco_sync.domain.engine import aggregate_mcqm, aggregate_members
from aco_sync.domain.record_codec import concat_batches, decode_batch, encode_records
from aco_sync.domain.records import CollectionType, DenominatorCount, Performance
from pseudonym_keys import TEST_KEY

M = CollectionType.MCQM


def test_no_records_gives_empty_results():
    result = aggregate_members([], MeasurePlan(), catalog=CATALOG, pseudonym_key=TEST_KEY)
    assert result.outcomes == [] and result.stats == [] and result.counts["records"] == 0
    mcqm = aggregate_mcqm(
        [], [], MeasurePlan(), [], settings=settings(), catalog=CATALOG, pseudonym_key=TEST_KEY
    )
    assert mcqm.outcomes == [] and mcqm.outcome_count == 0


def test_empty_roster_copies_nobody_and_has_no_coverage():
    records = [record(ct=M)]
    plan = plan_for(records)
    result = aggregate_mcqm(
        records, [], plan, [], settings=settings(), catalog=CATALOG, pseudonym_key=TEST_KEY
    )
    stats = result.stats_for("M001", M)
    assert result.outcomes == [] and stats is not None
    assert stats.eligible_population == 0 and stats.roster_coverage is None


def _random_records(seed: int) -> list:
    rng = random.Random(seed)
    return [
        record(
            first=rng.choice(["Ann", "ann ", "Bea", "Cy"]),
            tin=rng.choice([TIN_A, TIN_B, TIN_C]),
            measure=rng.choice(["M001", "M112", "M236"]),
            ct=rng.choice([CollectionType.CQM, CollectionType.ECQM, M]),
            perf=rng.choice(list(Performance)),
            day=rng.choice([None, date(2025, 1, 2), date(2025, 6, 30)]),
            mbi=rng.choice([None, "1AA0AA0AA00"]),
        )
        for _ in range(120)
    ]


def test_record_batch_and_record_list_give_identical_results():
    records = _random_records(1)
    counts = [DenominatorCount(tin=TIN_B, measure_id="M001", collection_type=M, count=4)]
    roster = [
        roster_entry(),
        roster_entry(first="Bea", mbi="2BB0BB0BB00"),
        roster_entry(first="Bea", mbi="X"),
    ]
    plan = plan_for(records, counts)
    batch = decode_batch(encode_records(records))
    for as_list, as_batch in (
        (
            aggregate_members(records, plan, catalog=CATALOG, pseudonym_key=TEST_KEY),
            aggregate_members(batch, plan, catalog=CATALOG, pseudonym_key=TEST_KEY),
        ),
        (
            aggregate_mcqm(
                records, counts, plan, roster, settings=settings(), catalog=CATALOG, pseudonym_key=TEST_KEY
            ),
            aggregate_mcqm(
                batch, counts, plan, roster, settings=settings(), catalog=CATALOG, pseudonym_key=TEST_KEY
            ),
        ),
    ):
        assert as_list.outcomes == as_batch.outcomes
        assert as_list.stats == as_batch.stats
        assert [e.message for e in as_list.log] == [e.message for e in as_batch.log]


def test_stats_and_log_do_not_depend_on_input_order():
    records = _random_records(2)
    roster = [roster_entry(), roster_entry(first="Cy", mbi="3CC0CC0CC00")]
    plan = plan_for(records)
    expected = aggregate_mcqm(
        records, [], plan, roster, settings=settings(), catalog=CATALOG, pseudonym_key=TEST_KEY
    )
    expected_members = aggregate_members(records, plan, catalog=CATALOG, pseudonym_key=TEST_KEY)
    rng = random.Random(9)
    for _ in range(5):
        rng.shuffle(records)
        again = aggregate_mcqm(
            records, [], plan, roster, settings=settings(), catalog=CATALOG, pseudonym_key=TEST_KEY
        )
        assert again.stats == expected.stats and again.outcomes == expected.outcomes
        assert [e.message for e in again.log] == [e.message for e in expected.log]
        members = aggregate_members(records, plan, catalog=CATALOG, pseudonym_key=TEST_KEY)
        assert members.stats == expected_members.stats
        assert [e.message for e in members.log] == [e.message for e in expected_members.log]


def test_no_batches_at_all_gives_empty_results():
    empty = concat_batches([])
    assert len(empty) == 0 and list(empty) == []
    result = aggregate_members(empty, MeasurePlan(), catalog=CATALOG, pseudonym_key=TEST_KEY)
    assert result.outcomes == [] and result.counts["records"] == 0
