"""The engine's bulk (columnar) resolution agrees with the plain per-patient reference rules, for any
mix of measures, performances, dates (incl. none and far-future), TINs and collection types."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from engine_factories import CATALOG, TIN_A, TIN_B, TIN_C, plan_for, record
from hypothesis import given, settings
from hypothesis import strategies as st

from aco_sync.domain.dedup import master_patient_id
from aco_sync.domain.engine import aggregate_members
from aco_sync.domain.record_codec import decode_batch, encode_records
from aco_sync.domain.records import CollectionType, Performance
from pseudonym_keys import TEST_KEY
from support.rules_oracle import resolve_outcome

_records = st.lists(
    st.builds(
        lambda first, measure, perf, day, tin, ct: record(
            first=first, measure=measure, perf=perf, day=day, tin=tin, ct=ct
        ),
        first=st.sampled_from(["Ann", "ANN", "Bea", "Cy"]),
        measure=st.sampled_from(["M001", "M112", "M134", "M236", "M113"]),
        perf=st.sampled_from(list(Performance)),
        day=st.none()
        | st.dates(min_value=date(2024, 1, 1), max_value=date(2025, 1, 5))
        | st.just(date(9999, 12, 31)),
        tin=st.sampled_from([TIN_A, TIN_B, TIN_C]),
        ct=st.sampled_from([CollectionType.CQM, CollectionType.ECQM]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(_records)
def test_bulk_resolution_equals_reference_rules(records):
    plan = plan_for(records)
    expected = {}
    grouped = defaultdict(list)
    for item in records:
        grouped[
            (
                master_patient_id(
                    item.first_name, item.last_name, item.birth_date, item.gender, pseudonym_key=TEST_KEY
                ),
                item.measure_id,
            )
        ].append(item)
    for (master_id, measure_id), items in grouped.items():
        resolution = resolve_outcome(items, CATALOG.get(measure_id).rule)
        expected[(master_id, measure_id)] = (resolution.outcome, resolution.performance_date)
    for source in (records, decode_batch(encode_records(records))):
        result = aggregate_members(source, plan, catalog=CATALOG, pseudonym_key=TEST_KEY)
        got = {(o.master_pat_id, o.measure_id): (o.outcome, o.performance_date) for o in result.outcomes}
        assert got == expected
        assert sum(s.eligible_population for s in result.stats) == len(expected)
