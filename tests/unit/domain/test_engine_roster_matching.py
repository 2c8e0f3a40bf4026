"""Roster matching (MCQM step): exactly one match copies, none does nothing, several skip with the exact
log line; optional MBI tie-break; M112 eCQM never enters MCQM; stats of the MCQM instance."""

from __future__ import annotations

import random
from datetime import date

from engine_factories import CATALOG, TIN_A, TIN_B, plan_for, record, roster_entry, settings

from aco_sync.domain.dedup import master_patient_id
from aco_sync.domain.engine import aggregate_mcqm
from aco_sync.domain.records import CollectionType, DenominatorCount, Gender, Performance
from pseudonym_keys import TEST_KEY

M, C, E = CollectionType.MCQM, CollectionType.CQM, CollectionType.ECQM


def _run(records, roster, counts=(), **setting_overrides):
    plan = plan_for(records, list(counts), **setting_overrides)
    return aggregate_mcqm(
        records,
        counts,
        plan,
        roster,
        settings=settings(**setting_overrides),
        catalog=CATALOG,
        pseudonym_key=TEST_KEY,
    )


def test_exactly_one_roster_match_copies_patient():
    records = [record(ct=M, first="ann ", last="LEE")]
    result = _run(records, [roster_entry()])
    assert len(result.outcomes) == 1
    assert result.outcomes[0].collection_type is M and result.outcomes[0].outcome is Performance.MET
    assert result.counts["patients_copied"] == 1


def test_no_roster_match_does_nothing():
    records = [record(ct=M, first="Zoe")]
    result = _run(records, [roster_entry()])
    assert result.outcomes == []
    assert result.counts["patients_without_roster_match"] == 1
    assert not any(e.kind == "skip" for e in result.log)


def test_more_than_one_roster_match_skips_with_exact_log_line():
    records = [record(ct=M)]
    roster = [roster_entry(mbi="1AA0AA0AA00"), roster_entry(mbi="2BB0BB0BB00")]
    result = _run(records, roster)
    assert result.outcomes == []
    master_id = master_patient_id("Ann", "Lee", date(1950, 1, 2), "F", pseudonym_key=TEST_KEY)
    assert [e.message for e in result.log if e.kind == "skip"] == [
        f"Patient {master_id} skipped because more than one roster match was found"
    ]


def test_mbi_tiebreak_is_off_by_default():
    records = [record(ct=M, mbi="2BB0BB0BB00")]
    roster = [roster_entry(mbi="1AA0AA0AA00"), roster_entry(mbi="2BB0BB0BB00")]
    assert _run(records, roster).outcomes == []


def test_mbi_tiebreak_resolves_several_matches_when_enabled_and_logs_it():
    records = [record(ct=M, mbi="2bb0-bb0-bb00")]
    roster = [roster_entry(mbi="1AA0AA0AA00"), roster_entry(mbi="2BB0BB0BB00")]
    result = _run(records, roster, roster_mbi_tiebreak=True)
    assert len(result.outcomes) == 1
    assert result.counts["patients_resolved_by_mbi"] == 1
    assert any(e.kind == "roster_match" and "resolved by MBI" in e.message for e in result.log)
    assert not any("2BB0" in e.message.upper() for e in result.log)  # no MBI (PHI) in the log


def test_mbi_tiebreak_needs_a_known_mbi():
    records = [record(ct=M)]
    roster = [roster_entry(mbi="1AA0AA0AA00"), roster_entry(mbi="2BB0BB0BB00")]
    result = _run(records, roster, roster_mbi_tiebreak=True)
    assert result.outcomes == [] and result.counts["patients_skipped_ambiguous"] == 1


def test_cqm_mcqm_and_ecqm_patients_are_matched_but_m112_ecqm_never():
    records = [
        record(measure="M113", ct=E, tin=TIN_A),
        record(measure="M113", ct=M, tin=TIN_B, first="Bea"),
        record(measure="M112", ct=E, tin=TIN_A),
        record(measure="M112", ct=M, tin=TIN_B, first="Bea"),
    ]
    roster = [roster_entry(), roster_entry(first="Bea", mbi="3CC0CC0CC00")]
    result = _run(records, roster)
    by_measure = {(o.measure_id, o.master_pat_id) for o in result.outcomes}
    m113 = [o for o in result.outcomes if o.measure_id == "M113"]
    m112 = [o for o in result.outcomes if o.measure_id == "M112"]
    assert len(m113) == 2 and len(m112) == 1 and len(by_measure) == 3
    assert m112[0].source_tins == (TIN_B,)


def test_m112_ecqm_records_of_a_matched_patient_are_not_copied():
    records = [
        record(measure="M112", ct=E, tin=TIN_A, perf=Performance.MET),
        record(measure="M112", ct=M, tin=TIN_B, perf=Performance.NOT_MET),
    ]
    result = _run(records, [roster_entry()])
    assert [o.outcome for o in result.outcomes] == [Performance.NOT_MET]


def test_roster_eligibility_flags_limit_measures():
    records = [record(ct=M, measure="M001"), record(ct=M, measure="M236")]
    result = _run(records, [roster_entry(eligible=frozenset({"M001"}))])
    assert [o.measure_id for o in result.outcomes] == ["M001"]
    assert result.counts["patients_not_eligible"] == 1


def test_denominator_only_counts_enter_mcqm_eligible_population():
    records = [record(ct=M, perf=Performance.MET)]
    counts = [DenominatorCount(tin=TIN_B, measure_id="M001", collection_type=M, count=9)]
    result = _run(records, [roster_entry()], counts)
    stats = result.stats_for("M001", M)
    assert stats is not None
    assert stats.eligible_population == 10 and stats.performance_met == 1
    assert stats.data_completeness == 10.0
    assert stats.patients_by_tin == {TIN_A: 1, TIN_B: 9}


def test_roster_coverage_is_share_of_roster_found():
    records = [record(ct=M)]
    roster = [
        roster_entry(),
        roster_entry(first="Bea", mbi="3CC0CC0CC00"),
        roster_entry(first="Cy", gender=Gender.MALE, mbi="4DD0DD0DD00"),
        roster_entry(first="Di", mbi="5EE0EE0EE00"),
    ]
    stats = _run(records, roster).stats_for("M001", M)
    assert stats is not None and stats.roster_coverage == 25.0


def test_halted_measure_gets_no_mcqm_instance():
    records = [record(ct=M)]
    plan = plan_for(records, has_roster=False)
    result = aggregate_mcqm(
        records, [], plan, [], settings=settings(), catalog=CATALOG, pseudonym_key=TEST_KEY
    )
    assert result.outcomes == [] and result.stats == []


def test_opt_in_mcqm_instance_for_cqm_measure():
    records = [record(ct=C, tin=TIN_A), record(ct=C, tin=TIN_B, first="Zed")]
    result = _run(records, [roster_entry()], mcqm_opt_in=True)
    assert [(o.collection_type, o.source_tins) for o in result.outcomes] == [(M, (TIN_A,))]


def test_mcqm_result_does_not_depend_on_input_order():
    records = [
        record(ct=M, first=f, tin=t, perf=p, day=date(2025, 1, d))
        for f in ("Ann", "Bea")
        for t in (TIN_A, TIN_B)
        for p, d in ((Performance.MET, 3), (Performance.NOT_MET, 5))
    ]
    roster = [
        roster_entry(),
        roster_entry(first="Bea", mbi="3CC0CC0CC00"),
        roster_entry(first="Bea", mbi="X"),
    ]
    expected = _run(records, roster)
    rng = random.Random(11)
    for _ in range(5):
        rng.shuffle(records)
        again = _run(records, roster)
        assert again.outcomes == expected.outcomes
        assert [e.message for e in again.log] == [e.message for e in expected.log]
