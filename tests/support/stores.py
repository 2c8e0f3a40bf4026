"""In-memory stores (``aco_sync.adapters.memory``) wired as the handlers' ``Stores``, and an ACO's
configuration written into them."""

from __future__ import annotations

import json

import boto3

from aco_sync.adapters.aws import DynamoDbSyncStateStore
from aco_sync.adapters.environment import Stores
from aco_sync.adapters.keys import StaticPseudonymKey
from aco_sync.adapters.memory import (
    InMemoryObjectStore,
    InMemorySyncStateStore,
    InMemoryWorkflowStarter,
)
from pseudonym_keys import TEST_KEY

MAIN_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:aco-sync"
MCQM_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:mcqm-sync"


def memory_stores() -> Stores:
    return Stores(
        objects=InMemoryObjectStore(),
        state=InMemorySyncStateStore(),
        workflows=InMemoryWorkflowStarter(),
        pseudonym_keys=StaticPseudonymKey(TEST_KEY),
        aco_sync_state_machine_arn=MAIN_ARN,
        mcqm_state_machine_arn=MCQM_ARN,
    )


def write_config(stores: Stores, aco_id: str = "A1", **settings: object) -> None:
    config = {"aco_id": aco_id, "performance_year": 2025, **settings}
    stores.objects.put(f"config/acos/{aco_id}.json", json.dumps(config).encode())


def moto_dynamodb_state_store(region: str = "us-east-1", table_name: str = "state") -> DynamoDbSyncStateStore:
    """The sync state table as template.yaml declares its keys, created in moto (inside ``mock_aws``)."""
    boto3.client("dynamodb", region_name=region).create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    )
    return DynamoDbSyncStateStore(table_name, resource=boto3.resource("dynamodb", region_name=region))
