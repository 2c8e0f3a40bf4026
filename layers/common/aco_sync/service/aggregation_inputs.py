"""Load what the member clinics synced (their stored records and denominator-only counts).

Records stay columnar (:class:`~aco_sync.domain.record_codec.RecordBatch`): one lazily decoded batch
per clinic, concatenated without building a PerformanceRecord per row. Pass the same batch to every
engine step of a Lambda so its patient index is built once."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence

from aco_sync.adapters.ports import ObjectNotFoundError, ObjectStore
from aco_sync.domain.record_codec import RecordBatch, concat_batches, decode_batch
from aco_sync.domain.records import DenominatorCount
from aco_sync.service.artifacts import counts_from_json, dumps
from aco_sync.service.common import clinic_counts_key, clinic_records_key, sync_artifact_key

INPUTS_FILE = "inputs.json"


def load_clinic_inputs(
    objects: ObjectStore, aco_id: str, tins: Sequence[str]
) -> tuple[RecordBatch, list[DenominatorCount]]:
    """The records of ``tins`` as one batch (a clinic with no stored records adds none) and their
    denominator-only counts."""
    batches: list[RecordBatch] = []
    counts: list[DenominatorCount] = []
    for tin in tins:
        with contextlib.suppress(ObjectNotFoundError):
            batches.append(decode_batch(objects.get(clinic_records_key(aco_id, tin))))
        with contextlib.suppress(ObjectNotFoundError):
            counts.extend(counts_from_json(objects.get(clinic_counts_key(aco_id, tin))))
    return (concat_batches(batches) if batches else RecordBatch()), counts


def save_synced_tins(
    objects: ObjectStore, aco_id: str, sync_id: str, tins: Sequence[str], failed: Sequence[str]
) -> None:
    objects.put(
        sync_artifact_key(aco_id, sync_id, INPUTS_FILE),
        dumps({"synced_tins": list(tins), "failed_tins": list(failed)}),
        content_type="application/json",
    )


def load_synced_tins(objects: ObjectStore, aco_id: str, sync_id: str) -> tuple[list[str], list[str]]:
    data = json.loads(objects.get(sync_artifact_key(aco_id, sync_id, INPUTS_FILE)))
    return list(data["synced_tins"]), list(data["failed_tins"])
