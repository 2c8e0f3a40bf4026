"""Least privilege and data protection of template.yaml, checked on the template itself: every IAM
statement is scoped to the stack's own resources (no ``*`` action or resource where a narrower one
exists), the bucket refuses non-TLS access and public access, table, bucket and queues are encrypted and
every log group has a retention period. checkov (``.checkov.yaml``) runs the generic checks in ``make lint``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

# SAM policy templates the functions may use, each scoped by its parameter to one resource of this
# stack (SAM expands them to statements on that table/bucket/queue/state machine/function only).
SCOPED_POLICY_TEMPLATES = {
    "S3ReadPolicy": "BucketName",
    "S3CrudPolicy": "BucketName",
    "S3WritePolicy": "BucketName",
    "DynamoDBCrudPolicy": "TableName",
    "DynamoDBReadPolicy": "TableName",
    "DynamoDBWritePolicy": "TableName",
    "SQSSendMessagePolicy": "QueueName",
    "SQSPollerPolicy": "QueueName",
    "StepFunctionsExecutionPolicy": "StateMachineName",
    "LambdaInvokePolicy": "FunctionName",
}

# The documented exceptions: actions AWS does not let you scope to a resource, so "*" is the narrowest.
ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS = {
    # Vended log delivery of Step Functions: these CloudWatch Logs actions support only "*" (see
    # "Logging using CloudWatch Logs" in the Step Functions developer guide, IAM policy section).
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    # X-Ray tracing (functions: added by SAM for Tracing: Active; state machines: the statement the
    # Step Functions guide gives for X-Ray): trace segments and the sampling calls are not resources.
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form intrinsics as ``{"Fn::X": value}``."""


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # a SafeLoader subclass
    return loaded


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_holders(template: dict[str, Any]) -> dict[str, list[Any]]:
    holders = {}
    for kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
        for name, resource in _resources(template, kind).items():
            holders[name] = _as_list(resource["Properties"].get("Policies", []))
    return holders


def _refers_to_stack_resource(value: Any, template: dict[str, Any]) -> bool:
    """A !Ref / !GetAtt / !Sub of one of this stack's resources (never a literal "*" or a foreign name)."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    [(function, argument)] = value.items()
    resources = template["Resources"]
    if function == "Ref":
        return argument in resources
    if function == "Fn::GetAtt":
        return argument[0] in resources
    if function == "Fn::Sub":
        text = argument if isinstance(argument, str) else argument[0]
        return "${AWS::StackName}" in text or any("${" + name in text for name in resources)
    return False


def test_every_function_and_state_machine_has_only_scoped_or_inline_policies(
    template: dict[str, Any],
) -> None:
    problems = []
    for holder, policies in _policy_holders(template).items():
        for policy in policies:
            if isinstance(policy, str):
                problems.append(f"{holder}: managed policy {policy!r} (not scoped to this stack)")
                continue
            [(name, argument)] = policy.items()
            if name == "Statement":
                continue  # inline statements: checked below
            if name not in SCOPED_POLICY_TEMPLATES:
                problems.append(f"{holder}: policy template {name} is not one of the scoped ones")
                continue
            parameter = SCOPED_POLICY_TEMPLATES[name]
            if not _refers_to_stack_resource(argument.get(parameter), template):
                problems.append(f"{holder}: {name} {parameter} is not a resource of this stack: {argument}")
    assert problems == []


def _inline_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    statements = []
    for holder, policies in _policy_holders(template).items():
        for policy in policies:
            if isinstance(policy, dict) and "Statement" in policy:
                statements.extend((holder, s) for s in _as_list(policy["Statement"]))
    return statements


def test_inline_statements_use_no_wildcard_action_and_no_wildcard_resource_where_a_narrower_exists(
    template: dict[str, Any],
) -> None:
    statements = _inline_statements(template)
    assert statements, "expected the lock's DescribeExecution and the log delivery statements"
    problems = []
    for holder, statement in statements:
        assert statement["Effect"] == "Allow"
        actions = _as_list(statement["Action"])
        for action in actions:
            if "*" in action:
                problems.append(f"{holder} {statement.get('Sid')}: wildcard action {action}")
        for resource in _as_list(statement["Resource"]):
            if resource == "*":
                narrowable = [a for a in actions if a not in ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS]
                if narrowable:
                    problems.append(f"{holder} {statement.get('Sid')}: Resource '*' for {narrowable}")
            elif not _refers_to_stack_resource(resource, template):
                problems.append(f"{holder} {statement.get('Sid')}: {resource} is not this stack's")
    assert problems == []


def test_the_lock_may_only_describe_executions_of_this_stacks_state_machines(
    template: dict[str, Any],
) -> None:
    [(_, statement)] = [
        (h, s) for h, s in _inline_statements(template) if "states:DescribeExecution" in _as_list(s["Action"])
    ]
    resources = [r["Fn::Sub"] for r in _as_list(statement["Resource"])]
    assert resources and all(":execution:${AWS::StackName}-" in r for r in resources)


def test_the_bucket_blocks_public_access_and_is_encrypted(template: dict[str, Any]) -> None:
    [bucket] = _resources(template, "AWS::S3::Bucket").values()
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [rule] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("aws:kms", "AES256")
    assert properties["VersioningConfiguration"]["Status"] == "Enabled"  # an overwrite loses nothing


def test_the_bucket_denies_every_request_without_tls(template: dict[str, Any]) -> None:
    [bucket_name] = _resources(template, "AWS::S3::Bucket")
    denials = [
        statement
        for policy in _resources(template, "AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"] == {"Ref": bucket_name}
        for statement in _as_list(policy["Properties"]["PolicyDocument"]["Statement"])
        if statement["Effect"] == "Deny"
    ]
    tls = [
        s
        for s in denials
        if s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
    ]
    assert tls, "no Deny statement on aws:SecureTransport false"
    [statement] = tls
    assert statement["Principal"] == "*" and _as_list(statement["Action"]) == ["s3:*"]
    resources = _as_list(statement["Resource"])
    assert {"Fn::GetAtt": [bucket_name, "Arn"]} in resources  # the bucket itself
    assert {"Fn::Sub": "${" + bucket_name + ".Arn}/*"} in resources  # and every object


def test_the_table_is_encrypted_and_recoverable(template: dict[str, Any]) -> None:
    tables = _resources(template, "AWS::DynamoDB::Table")
    assert tables
    for table in tables.values():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_the_queues_are_encrypted(template: dict[str, Any]) -> None:
    queues = _resources(template, "AWS::SQS::Queue")
    assert queues
    for name, queue in queues.items():
        properties = queue["Properties"]
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties, name


def test_every_log_group_has_a_retention_and_every_function_logs_to_one(template: dict[str, Any]) -> None:
    log_groups = _resources(template, "AWS::Logs::LogGroup")
    for name, group in log_groups.items():
        assert "RetentionInDays" in group["Properties"], f"{name} keeps logs forever"
    retention = template["Parameters"]["LogRetentionInDays"]
    assert retention["Default"] <= 400
    for name, function in _resources(template, "AWS::Serverless::Function").items():
        target = function["Properties"].get("LoggingConfig", {}).get("LogGroup")
        # without an explicit group Lambda creates /aws/lambda/<name> with no retention
        assert isinstance(target, dict) and target.get("Ref") in log_groups, name


def test_state_machine_logs_carry_no_execution_data(template: dict[str, Any]) -> None:
    for name, machine in _resources(template, "AWS::Serverless::StateMachine").items():
        logging = machine["Properties"]["Logging"]
        assert logging["IncludeExecutionData"] is False, name  # payloads are keys/counts, but never log them


def test_every_check_checkov_skips_is_justified() -> None:
    """``.checkov.yaml`` (used by ``make lint``) may skip a check only with a comment saying why."""
    lines = (TEMPLATE.parent / ".checkov.yaml").read_text().splitlines()
    config = yaml.safe_load("\n".join(lines))
    skipped = config.get("skip-check", [])
    assert skipped, "no skipped checks: then this test is moot, but keep the config"
    for check in skipped:
        [index] = [i for i, line in enumerate(lines) if line.strip() == f"- {check}"]
        comment = []
        for line in reversed(lines[:index]):
            if not line.strip().startswith("#"):
                break
            comment.append(line)
        assert len(" ".join(comment)) > 80, f"{check} is skipped without a justification"
