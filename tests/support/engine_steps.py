"""The engine steps after "Finalize Member Sync" as the state machines run them, for tests that call the
services one by one: the partition Maps over the partition manifest, then their reduce steps."""

from __future__ import annotations

import json
from typing import Any

from aco_sync.adapters.environment import Stores
from aco_sync.service.mcqm_sync import combine_roster_matches, match_roster
from aco_sync.service.partitions import aggregate_member_partition, combine_member_partitions


def manifest_items(stores: Stores, finalize: dict[str, Any]) -> list[dict[str, int]]:
    return list(json.loads(stores.objects.get(finalize["partition_manifest_key"])))


def run_member_partitions(stores: Stores, finalize: dict[str, Any], **ids: str) -> dict[str, Any]:
    """ "Aggregate Member Partitions" (each item of the manifest) and "Combine Member Partitions"."""
    for item in manifest_items(stores, finalize):
        aggregate_member_partition(stores, **ids, **item)
    return combine_member_partitions(stores, **ids)


def run_roster_partitions(stores: Stores, finalize: dict[str, Any], **ids: str) -> dict[str, Any]:
    """ "Match Roster Partitions" (each item of the manifest) and "Combine Roster Matches"."""
    for item in manifest_items(stores, finalize):
        match_roster(stores, **ids, **item)
    return combine_roster_matches(stores, **ids)
