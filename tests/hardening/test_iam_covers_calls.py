"""The template grants every AWS call each function really makes. moto does not enforce IAM, so a
function calling an API its role lacks (say ``dynamodb:TransactWriteItems`` or ``s3:PutObject`` with
only S3ReadPolicy) would pass every local test and fail on AWS. This test runs whole local syncs (the
demo ACO: roster upload event, MCQM job, clinic stats job, a re-sync after a template was deleted),
records each function's AWS calls, and checks each against the actions of that function's policies in
template.yaml (SAM policy templates expanded to their documented actions, plus inline statements)."""

from __future__ import annotations

import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import botocore.client
import pytest
import yaml
from fault_support import ingest_roster_event, run_sync, upload_aco
from test_least_privilege import TEMPLATE, _CfnLoader

import aco_sync_local.moto_patches as moto_patches
from aco_sync_local.demo_data import write_demo_aco
from aco_sync_local.local_aws import LocalAws

pytestmark = pytest.mark.slow

# Actions of the SAM policy templates used here (aws/serverless-application-model,
# samtranslator/policy_templates_data/policy_templates.json).
POLICY_TEMPLATE_ACTIONS = {
    "S3ReadPolicy": {
        "s3:GetObject",
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetObjectVersion",
        "s3:GetLifecycleConfiguration",
    },
    "S3CrudPolicy": {
        "s3:GetObject",
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:PutObjectAcl",
        "s3:GetLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
        "s3:DeleteObject",
    },
    "DynamoDBCrudPolicy": {
        "dynamodb:GetItem",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:Scan",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:BatchGetItem",
        "dynamodb:DescribeTable",
        "dynamodb:ConditionCheckItem",
    },
    "DynamoDBReadPolicy": {
        "dynamodb:GetItem",
        "dynamodb:Scan",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:DescribeTable",
    },
    "SQSSendMessagePolicy": {"sqs:SendMessage"},
    "StepFunctionsExecutionPolicy": {"states:StartExecution"},
    "LambdaInvokePolicy": {"lambda:InvokeFunction"},
}
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


def _granted(template: dict[str, Any], logical_id: str) -> set[str]:
    actions: set[str] = set()
    for policy in template["Resources"][logical_id]["Properties"].get("Policies", []):
        [(name, argument)] = policy.items()
        if name == "Statement":
            for statement in argument:
                if statement["Effect"] == "Allow":
                    action = statement["Action"]
                    actions.update(action if isinstance(action, list) else [action])
        else:
            actions |= POLICY_TEMPLATE_ACTIONS[name]
    return actions


def _iam_action(service: str, operation: str) -> str:
    return IAM_ACTION_OF.get((service, operation), f"{SERVICE_PREFIX.get(service, service)}:{operation}")


@pytest.fixture
def calls_per_function(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """IAM actions of the AWS calls made while each function's handler runs (by logical id)."""
    current = threading.local()
    calls: dict[str, set[str]] = defaultdict(set)
    real_invoke = moto_patches.invoke_in_process
    real_call = botocore.client.BaseClient._make_api_call

    def invoke(function_name: str, function_arn: str, body: Any) -> tuple[bytes, bool]:
        current.function = function_name.rsplit("-", 1)[-1]
        try:
            return real_invoke(function_name, function_arn, body)
        finally:
            current.function = None

    def make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        function = getattr(current, "function", None)
        if function:
            calls[function].add(_iam_action(self.meta.service_model.service_name, operation_name))
        return real_call(self, operation_name, api_params)

    monkeypatch.setattr(moto_patches, "invoke_in_process", invoke)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
    return calls


def test_every_aws_call_of_every_function_is_granted_by_its_role(
    tmp_path: Path, calls_per_function: dict[str, set[str]]
) -> None:
    folder = tmp_path / "demo"
    aco_id = write_demo_aco(folder)
    with LocalAws(fast_retries=True) as aws:
        upload_aco(aws, folder, aco_id)
        ingest_roster_event(aws, f"rosters/{aco_id}/2025/roster.csv")  # starts the first sync
        aws.wait_for_executions(timeout=120)
        aws.drain_queues()
        template_key = next(k for k in aws.list_keys(f"members/{aco_id}/") if "/templates/" in k)
        aws.client("s3").delete_object(Bucket=aws.bucket_name(), Key=template_key)
        status = run_sync(aws, aco_id)  # cleanup removes that file's encounters
        assert status["sync"]["status"] == "Sync Complete"

    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    exercised = {"IngestRosterFunction", "StartSyncFunction", "SyncClinicFunction", "FinalizeFunction",
                 "McqmSyncFunction", "UpdateStatsFunction", "CleanupFunction", "ClinicStatsWorkerFunction",
                 "AcquireLockFunction", "ReleaseLockFunction"}  # fmt: skip
    assert exercised <= set(calls_per_function), sorted(calls_per_function)
    missing = {
        function: sorted(actions - _granted(template, function))
        for function, actions in calls_per_function.items()
        if actions - _granted(template, function)
    }
    assert missing == {}, f"calls the role does not allow (would fail on AWS): {missing}"
