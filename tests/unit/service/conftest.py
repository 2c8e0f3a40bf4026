"""In-memory stores for the service tests."""

from __future__ import annotations

import json

import pytest

from aco_sync.adapters.environment import Stores
from aco_sync.adapters.memory import (
    InMemoryObjectStore,
    InMemoryQueue,
    InMemorySyncStateStore,
    InMemoryWorkflowStarter,
)

MAIN_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:aco-sync"
MCQM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:mcqm-sync"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/clinic-stats"


@pytest.fixture
def stores() -> Stores:
    return Stores(
        objects=InMemoryObjectStore(),
        state=InMemorySyncStateStore(),
        workflows=InMemoryWorkflowStarter(),
        queue=InMemoryQueue(),
        aco_sync_state_machine_arn=MAIN_ARN,
        mcqm_state_machine_arn=MCQM_ARN,
        clinic_stats_queue_url=QUEUE_URL,
    )


def write_config(stores: Stores, aco_id: str = "A1", **settings: object) -> None:
    config = {"aco_id": aco_id, "performance_year": 2025, **settings}
    stores.objects.put(f"config/acos/{aco_id}.json", json.dumps(config).encode())
