"""The finalize and MCQM steps read the clinics' stored records as one columnar batch."""

from __future__ import annotations

from aco_sync.domain.record_codec import RecordBatch, decode_records
from aco_sync.service.aggregation_inputs import load_clinic_inputs
from aco_sync.service.clinic_sync import sync_member_clinic
from aco_sync.service.common import clinic_records_key
from support.small_aco import NORTH, SOUTH, write_small_aco
from support.stores import memory_stores


def test_clinic_inputs_are_one_batch_of_every_synced_clinics_records() -> None:
    stores = memory_stores()
    write_small_aco(stores, roster_required=False)
    for tin in (NORTH, SOUTH):
        sync_member_clinic(stores, aco_id="A1", sync_id="s1", tin=tin)
    expected = [
        record
        for tin in (NORTH, SOUTH)
        for record in decode_records(stores.objects.get(clinic_records_key("A1", tin)))
    ]

    records, counts = load_clinic_inputs(stores.objects, "A1", [NORTH, SOUTH])

    assert isinstance(records, RecordBatch)
    assert len(records) == len(expected) == 5
    assert list(records) == expected
    assert counts == []


def test_clinics_without_stored_records_give_an_empty_batch() -> None:
    stores = memory_stores()
    write_small_aco(stores, roster_required=False)
    sync_member_clinic(stores, aco_id="A1", sync_id="s1", tin=NORTH)

    only_north, _ = load_clinic_inputs(stores.objects, "A1", [NORTH, SOUTH])
    nothing, no_counts = load_clinic_inputs(stores.objects, "A1", [SOUTH])

    assert {r.tin for r in only_north} == {NORTH} and len(only_north) == 3
    assert isinstance(nothing, RecordBatch) and len(nothing) == 0 and list(nothing) == []
    assert no_counts == []
