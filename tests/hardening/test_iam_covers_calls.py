"""Each function's role allows exactly the AWS calls it makes, both ways. moto does not enforce IAM, so
a function calling an API (or a key, or a partition) its role lacks would pass every local test and
fail on AWS; and a grant no call uses is privilege nobody needs. This test runs whole local syncs (the
demo ACO: roster upload event, MCQM job, clinic stats job, the daily schedule's start of every
configured ACO, a re-sync after a template was deleted), records every AWS call of each function with
its resource (bucket and key, table and partition key, state machine, secret), and checks it against
the statements of that function's policies in template.yaml, resolved against the local deployment:

- every call is allowed by a statement (action, resource pattern, ``s3:prefix`` and
  ``dynamodb:LeadingKeys`` conditions);
- every (statement, action) of the role is used by some call, except the documented ones below
  (KMS use that AWS services make on the function's behalf, and code paths these syncs do not take).
"""

from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import botocore.client
import pytest
from fault_support import ingest_roster_event, run_sync, upload_aco
from test_least_privilege import TEMPLATE

import aco_sync_local.moto_patches as moto_patches
from aco_sync.adapters import keys
from aco_sync.service.clinic_uploads import MANIFEST
from aco_sync_local.demo_data import write_demo_aco
from aco_sync_local.deployer import _Resolver, _Stack, load_template
from aco_sync_local.local_aws import LocalAws

pytestmark = pytest.mark.slow

# API operation -> the IAM action it needs, where the names differ
IAM_ACTION_OF = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
}
SERVICE_PREFIX = {"stepfunctions": "states", "sfn": "states"}

# the functions the recorded syncs run
EXERCISED = {
    "IngestRosterFunction",
    "StartSyncFunction",
    "AcquireAcoLockFunction",
    "ReleaseAcoLockFunction",
    "RecordSyncStatusFunction",
    "ValidateRosterFunction",
    "InitialSyncFunction",
    "CleanUpRemovedEncountersFunction",
    "SyncMemberClinicFunction",
    "FinalizeMemberSyncFunction",
    "AggregateMemberPartitionFunction",
    "CombineMemberPartitionsFunction",
    "MatchRosterFunction",
    "CombineRosterMatchesFunction",
    "UpdateAggregateStatsFunction",
    "StoreClinicStatsFunction",
}

# Grants no recorded call uses, each with the reason it is still needed. The test fails if one of these
# is used after all (then it is not an exception any more) or if a grant is unused and not listed.
UNUSED_BY_DESIGN: dict[tuple[str, str, str], str] = {
    **{
        (function, "UseDataKeyThroughAwsServices", action): "S3, DynamoDB, Secrets Manager, SQS and Lambda "
        "call KMS with the caller's permissions (kms:ViaService); moto does not"
        for function in (*EXERCISED, "RecordClinicFailureFunction", "ListClinicBatchFunction")
        for action in ("kms:Decrypt", "kms:GenerateDataKey")
    },
    ("IngestRosterFunction", "WriteObjects", "s3:DeleteObject"): "confirming a held roster removes its "
    "hold record (rosters/<aco>/<py>/confirm/<file>); the demo run holds no roster",
    ("StartSyncFunction", "WritePendingRosters", "s3:PutObject"): "the daily run ingests rosters that were "
    "uploaded but never ingested (trigger schedule); the test starts the sync by hand",
    ("StartSyncFunction", "SyncState", "dynamodb:GetItem"): "the daily run's pending-roster ingest reads "
    "the active roster (trigger schedule); the test starts the sync by hand",
    **{
        (function, "ListKeys", "s3:ListBucket"): "S3 answers a GetObject of a missing key with 404 "
        "(ObjectNotFoundError: not there yet) only to a caller that may list the bucket; else 403"
        for function in (  # UpdateStats lists results/<aco_id>/ (the previous sync), so it is not here
            "ValidateRosterFunction",
            "InitialSyncFunction",
            "FinalizeMemberSyncFunction",
            "AggregateMemberPartitionFunction",  # the duplicate decisions, a clinic's counts
            "CombineMemberPartitionsFunction",  # the duplicate decisions
            "MatchRosterFunction",
            "StoreClinicStatsFunction",
            "IngestRosterFunction",
        )
    },
    ("AcquireAcoLockFunction", "CheckLockHolderExecution", "states:DescribeExecution"): "only when the lock "
    "is held by another sync: is its execution still running? (tests/hardening/test_concurrency.py)",
    **{
        ("RecordClinicFailureFunction", statement, action): "a clinic whose sync keeps failing "
        "(test_concurrency.py); these syncs have none"
        for statement, action in (
            ("SyncState", "dynamodb:PutItem"),
            ("SyncState", "dynamodb:GetItem"),
            ("SyncLog", "dynamodb:BatchWriteItem"),
        )
    },
    ("RecordSyncStatusFunction", "SyncState", "dynamodb:Query"): "a failed sync marks its unfinished "
    "clinics Sync Failed (tests/statemachine/test_failures_and_lock.py)",
    (
        "SyncMemberClinicFunction",
        "SyncLog",
        "dynamodb:Query",
    ): "only a retried clinic step reads the sync's log "
    "(not to log its findings twice: tests/hardening/test_faults.py); a first attempt only appends",
    (
        "SyncMemberClinicFunction",
        "SyncState",
        "dynamodb:DeleteItem",
    ): "a clinic whose last aggregate encounter is removed loses its ENCTIN marker",
    **{
        ("StoreClinicStatsFunction", "ConsumeClinicStatsJobs", action): "the Lambda event source mapping "
        "polls with the function's role; locally the runner delivers the messages"
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
    },
}


class Call:
    """One AWS call: its IAM action, the resource ARN it acts on and its condition-key values."""

    def __init__(self, action: str, resource: str, context: dict[str, list[str]] | None = None) -> None:
        self.action, self.resource, self.context = action, resource, context or {}

    def __repr__(self) -> str:
        return f"{self.action} {self.resource} {self.context or ''}".rstrip()


def _iam_action(service: str, operation: str) -> str:
    return IAM_ACTION_OF.get((service, operation), f"{SERVICE_PREFIX.get(service, service)}:{operation}")


def _string(value: Any) -> str:
    if isinstance(value, dict):  # a low-level DynamoDB attribute value {"S": "ACO#x"}
        return str(next(iter(value.values())))
    return str(value)


def _partition_keys(params: dict[str, Any]) -> list[str]:
    if "Key" in params:
        return [_string(params["Key"]["PK"])]
    if "Item" in params:
        return [_string(params["Item"]["PK"])]
    if "RequestItems" in params:
        return sorted(
            {
                _string((request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"])["PK"])
                for requests in params["RequestItems"].values()
                for request in requests
            }
        )
    expression = params.get("KeyConditionExpression", "")
    if not isinstance(expression, str):  # a boto3 condition (the resource layer builds the text later)
        return [_partition_of_condition(expression)]
    names = {alias for alias, name in params.get("ExpressionAttributeNames", {}).items() if name == "PK"}
    for alias in names | {"PK"}:
        match = re.search(rf"{re.escape(alias)} = (:\w+)", expression)
        if match:
            return [_string(params["ExpressionAttributeValues"][match.group(1)])]
    raise AssertionError(f"no partition key in {sorted(params)}")


def _partition_of_condition(condition: Any) -> str:
    """The value of ``Key("PK").eq(value)`` inside a boto3 key condition."""
    parts = condition.get_expression()
    values = parts["values"]
    if parts["operator"] == "=" and getattr(values[0], "name", None) == "PK":
        return str(values[1])
    for value in values:
        if hasattr(value, "get_expression"):
            try:
                return _partition_of_condition(value)
            except LookupError:
                continue
    raise LookupError("no PK condition")


def describe_call(client: Any, operation: str, params: dict[str, Any], queue_arns: dict[str, str]) -> Call:
    service = client.meta.service_model.service_name
    action = _iam_action(service, operation)
    region = client.meta.region_name
    if service == "s3":
        bucket = f"arn:aws:s3:::{params['Bucket']}"
        if action in ("s3:ListBucket", "s3:ListBucketVersions"):
            return Call(action, bucket, {"s3:prefix": [params.get("Prefix", "")]})
        if action == "s3:DeleteObject" and "VersionId" in params:
            action = "s3:DeleteObjectVersion"
        return Call(action, f"{bucket}/{params['Key']}")
    if service == "dynamodb":
        table = params.get("TableName") or next(iter(params["RequestItems"]))
        arn = f"arn:aws:dynamodb:{region}:123456789012:table/{table}"
        return Call(action, arn, {"dynamodb:LeadingKeys": _partition_keys(params)})
    if service == "stepfunctions":
        return Call(action, params.get("stateMachineArn") or params["executionArn"])
    if service == "secretsmanager":
        return Call(action, params["SecretId"])
    if service == "sqs":
        return Call(action, queue_arns[params["QueueUrl"]])
    raise AssertionError(f"a call this test does not know how to check: {service} {operation}")


def _matches(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def _allows(statement: dict[str, Any], call: Call) -> bool:
    if statement["Effect"] != "Allow":
        return False
    if not any(_matches(action, call.action) for action in statement["Action"]):
        return False
    if not any(_matches(str(resource), call.resource) for resource in statement["Resource"]):
        return False
    for operator, conditions in statement.get("Condition", {}).items():
        for key, patterns in conditions.items():
            patterns = patterns if isinstance(patterns, list) else [patterns]
            if key not in call.context:
                if key == "kms:ViaService":
                    continue
                return False
            values = call.context[key]
            if operator == "ForAllValues:StringLike":
                ok = all(any(_matches(p, v) for p in patterns) for v in values)
            elif operator == "StringLike":
                ok = any(_matches(p, v) for p in patterns for v in values)
            elif operator == "StringEquals":
                ok = any(p == v for p in patterns for v in values)
            else:
                raise AssertionError(f"condition operator {operator} is not known to this test")
            if not ok:
                return False
    return True


def resolved_statements(aws: LocalAws) -> dict[str, list[dict[str, Any]]]:
    """Each function's inline statements with !Ref/!GetAtt/!Sub resolved against the local deployment."""
    template = load_template(TEMPLATE)
    deployment = aws.deployment
    resolver = _Resolver(template, _Stack(deployment.stack_name, deployment.region, deployment.account_id))
    resolver.resources = dict(deployment.resources)
    resolver.skipped_resources = {logical_id for logical_id, _ in deployment.skipped}
    statements: dict[str, list[dict[str, Any]]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        statements[logical_id] = []
        for policy in resource["Properties"].get("Policies", []):
            [(name, argument)] = policy.items()
            assert name == "Statement", f"{logical_id}: policy template {name} (see test_least_privilege)"
            for statement in resolver.resolve(argument):
                statements[logical_id].append(
                    {
                        **statement,
                        "Action": statement["Action"]
                        if isinstance(statement["Action"], list)
                        else [statement["Action"]],
                        "Resource": statement["Resource"]
                        if isinstance(statement["Resource"], list)
                        else [statement["Resource"]],
                    }
                )
    return statements


@pytest.fixture
def calls_per_function(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[Any, str, dict[str, Any]]]]:
    """The AWS calls made while each function's handler runs (by logical id), with their parameters."""
    current = threading.local()
    calls: dict[str, list[tuple[Any, str, dict[str, Any]]]] = defaultdict(list)
    real_invoke = moto_patches.invoke_in_process
    real_call = botocore.client.BaseClient._make_api_call

    def invoke(function_name: str, function_arn: str, body: Any) -> tuple[bytes, bool]:
        current.function = function_name.rsplit("-", 1)[-1]
        keys.clear_cache()  # each function is its own container on AWS: it reads the key itself
        try:
            return real_invoke(function_name, function_arn, body)
        finally:
            current.function = None

    def make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        function = getattr(current, "function", None)
        if function:
            calls[function].append((self, operation_name, dict(api_params)))
        return real_call(self, operation_name, api_params)

    monkeypatch.setattr(moto_patches, "invoke_in_process", invoke)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
    return calls


def test_every_function_is_granted_exactly_the_aws_calls_it_makes(
    tmp_path: Path,
    calls_per_function: dict[str, list[tuple[Any, str, dict[str, Any]]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(keys.KEY_FILE_ENV, raising=False)  # the deployed secret, as on AWS
    folder = tmp_path / "demo"
    aco_id = write_demo_aco(folder)
    with LocalAws(fast_retries=True) as aws:
        upload_aco(aws, folder, aco_id)
        ingest_roster_event(aws, f"rosters/{aco_id}/2025/roster.csv")  # starts the first sync
        aws.wait_for_executions(timeout=120)
        aws.drain_queues()
        # uploads were moved to content keys: the user removes a template by deleting its content object
        template_key = next(
            key.removesuffix(MANIFEST) + entry["object"]
            for key in aws.list_keys(f"members/{aco_id}/")
            if key.endswith("/" + MANIFEST)
            for entry in json.loads(
                aws.client("s3").get_object(Bucket=aws.bucket_name(), Key=key)["Body"].read()
            )["files"]
            if entry["name"].startswith("templates/")
        )
        aws.client("s3").delete_object(Bucket=aws.bucket_name(), Key=template_key)
        status = run_sync(aws, aco_id)  # cleanup removes that file's encounters
        assert status["sync"]["status"] == "Sync Complete"
        aws.invoke("StartSyncFunction", {"all_configured": True, "trigger": "schedule"})  # the daily schedule
        aws.wait_for_executions(timeout=120)
        aws.drain_queues()
        queue_arns = {
            aws.deployment.physical_id(q): aws.deployment.arn(q)
            for q in aws.deployment.logical_ids("AWS::SQS::Queue")
        }
        statements = resolved_statements(aws)

    assert set(calls_per_function) >= EXERCISED, sorted(calls_per_function)
    not_allowed: dict[str, list[Call]] = {}
    used: set[tuple[str, str, str]] = set()
    for function, raw_calls in calls_per_function.items():
        for client, operation, params in raw_calls:
            call = describe_call(client, operation, params, queue_arns)
            allowing = [s for s in statements[function] if _allows(s, call)]
            if not allowing:
                not_allowed.setdefault(function, []).append(call)
            for statement in allowing:
                for action in statement["Action"]:
                    if _matches(action, call.action):
                        used.add((function, str(statement.get("Sid")), action))
    assert not_allowed == {}, f"calls the role does not allow (would fail on AWS): {not_allowed}"

    granted = {
        (function, str(statement.get("Sid")), action)
        for function, function_statements in statements.items()
        for statement in function_statements
        for action in statement["Action"]
    }
    unused = granted - used
    assert sorted(unused - set(UNUSED_BY_DESIGN)) == [], "granted but never called (remove, or document why)"
    assert sorted(set(UNUSED_BY_DESIGN) - unused) == [], "documented as unused but used (or gone): update"
