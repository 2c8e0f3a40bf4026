"""The bulk MCQM step agrees with a naive reference: for every de-duplicated patient of an MCQM
measure, count roster rows with the same normalised key by scanning the roster; exactly one: the
outcome is the plain per-patient rule over the records that may enter MCQM (no M112 eCQM)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from engine_factories import CATALOG, TIN_A, TIN_B, plan_for, record, roster_entry, settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from aco_sync.domain.dedup import master_patient_id, patient_key
from aco_sync.domain.engine import aggregate_mcqm
from aco_sync.domain.records import CollectionType, Performance
from pseudonym_keys import TEST_KEY
from support.rules_oracle import resolve_outcome

NAMES = ["Ann", "ANN", "Bea", "Cy", "Di"]

_records = st.lists(
    st.builds(
        lambda first, measure, perf, day, tin, ct: record(
            first=first, measure=measure, perf=perf, day=day, tin=tin, ct=ct
        ),
        first=st.sampled_from(NAMES),
        measure=st.sampled_from(["M001", "M112", "M236"]),
        perf=st.sampled_from(list(Performance)),
        day=st.none() | st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 12, 31)),
        tin=st.sampled_from([TIN_A, TIN_B]),
        ct=st.sampled_from(list(CollectionType)),
    ),
    min_size=1,
    max_size=30,
)
_roster = st.lists(st.sampled_from(["Ann", "Bea", "Cy", "Zed"]), max_size=6).map(
    lambda names: [roster_entry(first=name, mbi=f"{i}AA0AA0AA00") for i, name in enumerate(names)]
)


@hypothesis_settings(max_examples=120, deadline=None)
@given(_records, _roster, st.booleans())
def test_mcqm_step_equals_naive_reference(records, roster, opt_in):
    plan = plan_for(records, mcqm_opt_in=opt_in)
    result = aggregate_mcqm(
        records,
        [],
        plan,
        roster,
        settings=settings(mcqm_opt_in=opt_in),
        catalog=CATALOG,
        pseudonym_key=TEST_KEY,
    )

    grouped = defaultdict(list)
    for item in records:
        decision = plan.measures[item.measure_id]
        if decision.accepts(CollectionType.MCQM, item.collection_type):
            grouped[
                (patient_key(item.first_name, item.last_name, item.birth_date, item.gender), item.measure_id)
            ].append(item)
    expected = {}
    skipped = set()
    for (key, measure_id), items in grouped.items():
        matches = [r for r in roster if patient_key(r.first_name, r.last_name, r.birth_date, r.gender) == key]
        master_id = master_patient_id(*key, pseudonym_key=TEST_KEY)
        if len(matches) == 1:
            resolution = resolve_outcome(items, CATALOG.get(measure_id).rule)
            expected[(master_id, measure_id)] = (resolution.outcome, resolution.performance_date)
        elif len(matches) > 1:
            skipped.add(f"Patient {master_id} skipped because more than one roster match was found")

    got = {(o.master_pat_id, o.measure_id): (o.outcome, o.performance_date) for o in result.outcomes}
    assert got == expected
    assert {e.message for e in result.log if e.kind == "skip"} == skipped
    assert sum(s.eligible_population for s in result.stats) == len(expected)
