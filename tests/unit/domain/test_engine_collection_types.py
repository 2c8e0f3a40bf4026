"""Collection types: the full table of PRODUCT.md, opt-in MCQM, halts, removals, M112 eCQM."""

from __future__ import annotations

import json

import pytest
from engine_factories import CATALOG, TIN_A, TIN_B, TIN_C, plan_for, record, settings

from aco_sync.domain.collection_types import plan_measures
from aco_sync.domain.records import CollectionType, DenominatorCount
from aco_sync.wire import plan_from_dict, plan_to_dict

E, C, M = CollectionType.ECQM, CollectionType.CQM, CollectionType.MCQM
TINS = (TIN_A, TIN_B, TIN_C)


def _plan(
    types: tuple[CollectionType, ...], *, measure: str = "M001", has_roster: bool = True, opt_in: bool = False
):
    submissions = [(TINS[i], measure, t) for i, t in enumerate(types)]
    return plan_measures(
        submissions, has_active_roster=has_roster, settings=settings(mcqm_opt_in=opt_in), catalog=CATALOG
    )


@pytest.mark.parametrize(
    ("submitted", "opt_in", "expected"),
    [
        ((E,), False, (E,)),  # all eCQM
        ((E, E), True, (E, M)),  # all eCQM, ACO opts in
        ((C,), False, (C,)),  # all CQM
        ((C, C), True, (C, M)),  # all CQM, ACO opts in
        ((M, M), False, (M,)),  # all MCQM
        ((M,), True, (M,)),
        ((E, C), False, (C,)),  # eCQM + CQM
        ((E, C), True, (C, M)),
        ((E, M), False, (M,)),  # any mix with MCQM
        ((C, M), False, (M,)),
        ((E, C, M), False, (M,)),
        ((E, C, M), True, (M,)),
    ],
)
def test_collection_type_table(submitted, opt_in, expected):
    decision = _plan(submitted, opt_in=opt_in).measures["M001"]
    assert decision.instances == expected
    assert not decision.halted


def test_mcqm_submission_removes_cqm_instance_and_logs_the_removal():
    plan = _plan((C, M))
    assert plan.measures["M001"].cqm_removed
    removals = [e for e in plan.log if e.kind == "removal"]
    assert len(removals) == 1 and "CQM instance of measure M001 removed" in removals[0].message
    assert TIN_B in removals[0].message


def test_ecqm_with_cqm_syncs_qrda_performances_into_cqm_instance():
    decision = _plan((E, C)).measures["M001"]
    assert decision.ecqm_into_cqm
    assert decision.accepts(C, E) and decision.accepts(C, C)


def test_missing_roster_halts_mcqm_measure_with_exact_message():
    plan = _plan((C, M), has_roster=False)
    decision = plan.measures["M001"]
    assert decision.halted and decision.instances == ()
    expected = "ACO aggregation for measure M001 cannot proceed due to missing Medicare roster"
    assert decision.halt_message == expected
    assert [e.message for e in plan.log if e.kind == "halt"] == [expected]
    assert not plan.mcqm_needed


def test_missing_roster_does_not_halt_cqm_only_measure_but_skips_opt_in_mcqm():
    plan = _plan((C,), has_roster=False, opt_in=True)
    decision = plan.measures["M001"]
    assert decision.instances == (C,) and not decision.halted
    assert "no active Medicare roster" in decision.reason


def test_mcqm_denominator_only_counts_force_mcqm():
    records = [record(ct=C, tin=TIN_A)]
    counts = [DenominatorCount(tin=TIN_B, measure_id="M001", collection_type=C, count=12)]
    plan = plan_for(records, counts)
    assert plan.measures["M001"].instances == (M,)
    assert plan.measures["M001"].cqm_removed


def test_m112_ecqm_never_converted_to_mcqm_when_all_ecqm():
    decision = _plan((E, E), measure="M112", opt_in=True).measures["M112"]
    assert decision.instances == (E,)
    assert "cannot be converted to MCQM" in decision.reason


def test_m112_ecqm_patients_never_enter_mcqm_instance():
    decision = _plan((E, M), measure="M112").measures["M112"]
    assert decision.instances == (M,)
    assert not decision.accepts(M, E)
    assert decision.accepts(M, C) and decision.accepts(M, M)
    other = _plan((E, M), measure="M113").measures["M113"]
    assert other.accepts(M, E)


def test_unknown_measure_is_logged_not_planned():
    plan = plan_measures([(TIN_A, "M999", C)], has_active_roster=True, settings=settings(), catalog=CATALOG)
    assert plan.measures == {}
    assert any("M999" in e.message and e.level == "warning" for e in plan.log)


def test_plan_is_json_round_trippable():
    plan = _plan((E, C, M))
    data = json.loads(json.dumps(plan_to_dict(plan)))
    again = plan_from_dict(data)
    assert again == plan and plan_to_dict(again) == plan_to_dict(plan)
    assert again.mcqm_needed


def test_plan_ignores_submission_order_and_duplicates():
    submissions = [(TIN_A, "M001", C), (TIN_B, "M001", M), (TIN_A, "M001", C), (TIN_C, "M236", E)]
    a = plan_measures(submissions, has_active_roster=True, settings=settings(), catalog=CATALOG)
    b = plan_measures(
        list(reversed(submissions)), has_active_roster=True, settings=settings(), catalog=CATALOG
    )
    assert plan_to_dict(a) == plan_to_dict(b)
