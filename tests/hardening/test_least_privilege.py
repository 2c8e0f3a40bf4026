"""Least privilege and data protection of template.yaml, checked on the template itself: every IAM
statement is scoped to the stack's own resources (no ``*`` action or resource where a narrower one
exists), the bucket refuses non-TLS access and public access, table, bucket and queues are encrypted and
every log group has a retention period. checkov (``.checkov.yaml``) runs the generic checks in ``make lint``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aco_sync.service.common import PARTITION_MANIFEST_FILE, sync_artifact_key
from aco_sync.service.validation import batch_manifest_key

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

# SAM policy templates (aws/serverless-application-model, samtranslator/policy_templates_data/
# policy_templates.json): the parameter that scopes each to one resource of this stack, the actions it
# expands to, and the resource kind. Only the narrow ones may be used (the state machines' Lambda invoke,
# queue send and MCQM start); the CRUD templates grant lifecycle, ACL, Scan and delete rights no
# function needs, so no function may use any template: functions have explicit statements.
POLICY_TEMPLATES: dict[str, tuple[str, frozenset[str]]] = {
    "LambdaInvokePolicy": ("FunctionName", frozenset({"lambda:InvokeFunction"})),
    "SQSSendMessagePolicy": ("QueueName", frozenset({"sqs:SendMessage*"})),
    "StepFunctionsExecutionPolicy": ("StateMachineName", frozenset({"states:StartExecution"})),
}
CRUD_TEMPLATE_ACTIONS = {  # what the CRUD templates would grant: none of it may be granted at all
    "s3:PutLifecycleConfiguration",
    "s3:PutObjectAcl",
    "s3:PutBucketAcl",
    "s3:PutBucketPolicy",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketVersioning",
    "s3:DeleteObjectVersion",
    "dynamodb:Scan",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
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


def expand_policies(template: dict[str, Any], holder: str) -> list[dict[str, Any]]:
    """Every statement of a function's or state machine's policies, SAM policy templates expanded to
    the statements SAM generates (``Action`` always a list, ``Resource`` always a list)."""
    statements: list[dict[str, Any]] = []
    resource = template["Resources"][holder]
    for policy in _as_list(resource["Properties"].get("Policies", [])):
        if isinstance(policy, str):
            raise AssertionError(f"{holder}: managed policy {policy!r} (not scoped to this stack)")
        [(name, argument)] = policy.items()
        if name == "Statement":
            for statement in _as_list(argument):
                statements.append(
                    {
                        **statement,
                        "Action": _as_list(statement["Action"]),
                        "Resource": _as_list(statement["Resource"]),
                    }
                )
            continue
        if name not in POLICY_TEMPLATES:
            raise AssertionError(f"{holder}: policy template {name} is not one of the narrow ones")
        parameter, actions = POLICY_TEMPLATES[name]
        target = argument.get(parameter)
        statements.append({"Sid": name, "Effect": "Allow", "Action": sorted(actions), "Resource": [target]})
    return statements


def _target_logical_id(value: Any) -> str | None:
    """The logical id a !Ref / !GetAtt (also !GetAtt X.Name / X.QueueName) refers to."""
    if isinstance(value, dict) and len(value) == 1:
        [(function, argument)] = value.items()
        if function == "Ref":
            return str(argument)
        if function == "Fn::GetAtt":
            return str(argument[0])
    return None


def test_no_function_uses_a_policy_template_and_templates_elsewhere_are_scoped(
    template: dict[str, Any],
) -> None:
    problems = []
    for holder, policies in _policy_holders(template).items():
        is_function = template["Resources"][holder]["Type"] == "AWS::Serverless::Function"
        for policy in policies:
            if isinstance(policy, str):
                problems.append(f"{holder}: managed policy {policy!r} (not scoped to this stack)")
                continue
            [(name, argument)] = policy.items()
            if name == "Statement":
                continue  # inline statements: checked below
            if is_function:
                problems.append(f"{holder}: policy template {name} (functions have explicit statements)")
            elif name not in POLICY_TEMPLATES:
                problems.append(f"{holder}: policy template {name} is not one of the narrow ones")
            elif not _refers_to_stack_resource(argument.get(POLICY_TEMPLATES[name][0]), template):
                problems.append(f"{holder}: {name} is not scoped to a resource of this stack: {argument}")
    assert problems == []


def test_nothing_grants_lifecycle_acl_bucket_policy_scan_or_table_changes(template: dict[str, Any]) -> None:
    granted = {
        (holder, action)
        for holder in _policy_holders(template)
        for statement in expand_policies(template, holder)
        for action in statement["Action"]
    }
    forbidden = sorted((h, a) for h, a in granted if a in CRUD_TEMPLATE_ACTIONS or a.endswith(":*"))
    assert forbidden == [("SyncMemberClinicFunction", "s3:DeleteObjectVersion")]  # the one exception, below


def test_only_the_clinic_sync_deletes_versions_and_only_of_member_uploads(template: dict[str, Any]) -> None:
    """A clinic's new upload is stored under its content hash and its own key (which may name a
    patient) is deleted with every version (docs/SECURITY.md "PHI in names of things"): the clinic sync
    may list versions under ``members/`` and delete versions of ``members/*`` keys, nothing else may."""
    grants = {
        (holder, action): statement
        for holder in _policy_holders(template)
        for statement in expand_policies(template, holder)
        for action in statement["Action"]
        if action in ("s3:DeleteObjectVersion", "s3:ListBucketVersions")
    }
    assert set(grants) == {
        ("SyncMemberClinicFunction", "s3:DeleteObjectVersion"),
        ("SyncMemberClinicFunction", "s3:ListBucketVersions"),
    }
    delete = grants["SyncMemberClinicFunction", "s3:DeleteObjectVersion"]
    assert delete["Action"] == ["s3:DeleteObjectVersion"]
    assert delete["Resource"] == [{"Fn::Sub": "${DataBucket.Arn}/members/*"}]
    listing = grants["SyncMemberClinicFunction", "s3:ListBucketVersions"]
    assert listing["Resource"] == [{"Fn::GetAtt": ["DataBucket", "Arn"]}]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["members/*"]}}


def test_object_access_is_by_key_prefix_and_table_access_by_partition(template: dict[str, Any]) -> None:
    """S3 object actions name a key prefix of the data bucket (never the whole bucket), listing is
    granted only with object reads (for S3's 404 on a missing key), and every DynamoDB statement is
    limited to partitions by
    ``dynamodb:LeadingKeys`` (the key design: ACO#, LOG#, RESULTS#, ENC#, PROV# partitions)."""
    problems = []
    for holder in _policy_holders(template):
        for statement in expand_policies(template, holder):
            sid = f"{holder} {statement.get('Sid')}"
            services = {a.split(":")[0] for a in statement["Action"]}
            if "s3" in services:
                for action in statement["Action"]:
                    if action == "s3:ListBucketVersions":
                        continue  # on the bucket, under members/ only (the test above)
                    if action == "s3:ListBucket":
                        # on the bucket only, and only for a function that reads objects: S3 answers a
                        # missing key with 404 only to a caller that may list the bucket (else 403)
                        if statement["Resource"] != [{"Fn::GetAtt": ["DataBucket", "Arn"]}]:
                            problems.append(f"{sid}: ListBucket beyond the data bucket")
                        reads = any(
                            "s3:GetObject" in other["Action"] for other in expand_policies(template, holder)
                        )
                        if not reads:
                            problems.append(f"{sid}: ListBucket for a function that reads no object")
                    else:
                        for resource in statement["Resource"]:
                            text = (
                                resource.get("Fn::Sub", "") if isinstance(resource, dict) else str(resource)
                            )
                            prefix = text.removeprefix("${DataBucket.Arn}/")
                            if prefix == text or not prefix or prefix.startswith("*"):
                                problems.append(f"{sid}: {action} on {resource} (not a key prefix)")
            if "dynamodb" in services:
                leading = (
                    statement.get("Condition", {})
                    .get("ForAllValues:StringLike", {})
                    .get("dynamodb:LeadingKeys")
                )
                partitions = {"ACO#*", "LOG#*", "RESULTS#*", "ENC#*", "PROV#*"}
                if not leading or not set(_as_list(leading)) <= partitions:
                    problems.append(f"{sid}: DynamoDB access without a LeadingKeys partition condition")
                if statement["Resource"] != [{"Fn::GetAtt": ["SyncStateTable", "Arn"]}]:
                    problems.append(
                        f"{sid}: DynamoDB access beyond the table itself: {statement['Resource']}"
                    )
    assert problems == []


def _asl_objects(definition: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object of an ASL document, outermost first."""
    if isinstance(definition, dict):
        yield definition
        for value in definition.values():
            yield from _asl_objects(value)
    elif isinstance(definition, list):
        for value in definition:
            yield from _asl_objects(value)


def _asl_tasks(definition: Any) -> list[dict[str, Any]]:
    return [node for node in _asl_objects(definition) if node.get("Type") == "Task"]


def _distributed_maps(definition: Any) -> list[dict[str, Any]]:
    """The ItemReader of every DISTRIBUTED Map of an ASL document."""
    found: list[dict[str, Any]] = []
    for node in _asl_objects(definition):
        processor = node.get("ItemProcessor") or {}
        if node.get("Type") == "Map" and processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
            assert node["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
            found.append(node["ItemReader"])
    return found


def _asl_needs(template: dict[str, Any], machine: str) -> set[tuple[str, str]]:
    """(IAM action, logical id) of every task of the machine's ASL (the deployed ASL file)."""
    properties = template["Resources"][machine]["Properties"]
    definition = json.loads((TEMPLATE.parent / properties["DefinitionUri"]).read_text())
    substitutions = {k: _target_logical_id(v) for k, v in properties["DefinitionSubstitutions"].items()}
    needs = set()
    for reader in _distributed_maps(definition):
        # a distributed Map: its ItemReader's object, and the child executions of its map run (one per
        # item: started, described and stopped by the map run with the parent's role), which belong to
        # the state machine itself (spelled out: a !Ref of itself would be circular)
        bucket = str(substitutions[reader["Parameters"]["Bucket"][2:-1]])
        key = str(reader["Parameters"]["Key.$"])  # the batch manifest, or the engine partitions' manifest
        manifest = (
            batch_manifest_key("*", "*")
            if "batch" in key
            else sync_artifact_key("*", "*", PARTITION_MANIFEST_FILE)
        )
        needs.add(("s3:GetObject", f"${{{bucket}.Arn}}/{manifest}"))
        name = properties["Name"]["Fn::Sub"]
        arn = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
        needs.add(("states:StartExecution", f"{arn}:stateMachine:{name}"))
        needs.add(("states:DescribeExecution", f"{arn}:execution:{name}/*"))
        needs.add(("states:StopExecution", f"{arn}:execution:{name}/*"))
    for task in _asl_tasks(definition):
        resource = task["Resource"]
        if resource.startswith("${"):
            needs.add(("lambda:InvokeFunction", str(substitutions[resource[2:-1]])))
        elif resource == "arn:aws:states:::sqs:sendMessage":
            needs.add(("sqs:SendMessage*", str(substitutions[task["Parameters"]["QueueUrl"][2:-1]])))
        elif resource == "arn:aws:states:::states:startExecution":
            needs.add(
                ("states:StartExecution", str(substitutions[task["Parameters"]["StateMachineArn"][2:-1]]))
            )
        else:
            raise AssertionError(f"{machine}: task resource {resource} is not known to this test")
    return needs


def test_each_state_machine_is_granted_exactly_what_its_asl_calls(template: dict[str, Any]) -> None:
    """Both ways: every task of the ASL is allowed, and every grant is used by a task (the log
    delivery, X-Ray and the KMS use of the encrypted queue are the documented extras)."""
    for machine in _resources(template, "AWS::Serverless::StateMachine"):
        granted = set()
        for statement in expand_policies(template, machine):
            for action in statement["Action"]:
                if action in ACTIONS_WITHOUT_RESOURCE_LEVEL_PERMISSIONS or action.startswith("kms:"):
                    continue
                for resource in statement["Resource"]:
                    target = _target_logical_id(resource) or (
                        resource.get("Fn::Sub") if isinstance(resource, dict) else resource
                    )
                    granted.add((action, str(target)))
        assert granted == _asl_needs(template, machine), machine


def test_keys_encrypt_everything_and_retention_is_bounded(template: dict[str, Any]) -> None:
    key = {"Fn::GetAtt": ["DataKey", "Arn"]}
    key_ref = {"Ref": "DataKey"}
    [data_key] = _resources(template, "AWS::KMS::Key").values()
    assert data_key["Properties"]["EnableKeyRotation"] is True
    services = [
        s["Principal"].get("Service")
        for s in data_key["Properties"]["KeyPolicy"]["Statement"]
        if "Service" in s.get("Principal", {})
    ]
    assert services == [{"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}]  # the log groups' encryption
    bucket = template["Resources"]["DataBucket"]["Properties"]
    [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    [lifecycle] = bucket["LifecycleConfiguration"]["Rules"]
    assert lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] == {
        "Ref": "NoncurrentVersionRetentionDays"
    }
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogBucket"}
    table = template["Resources"]["SyncStateTable"]["Properties"]
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_ref}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    for name, queue in _resources(template, "AWS::SQS::Queue").items():
        assert queue["Properties"]["KmsMasterKeyId"] == key_ref, name
    for name, group in _resources(template, "AWS::Logs::LogGroup").items():
        assert group["Properties"]["KmsKeyId"] == key, name
    for secret in _resources(template, "AWS::SecretsManager::Secret").values():
        assert secret["Properties"]["KmsKeyId"] == key_ref
    parameters = template["Parameters"]
    assert 1 <= parameters["NoncurrentVersionRetentionDays"]["Default"] <= 400
    assert 1 <= parameters["SyncLogRetentionDays"]["Default"] <= 731
    environment = template["Globals"]["Function"]["Environment"]["Variables"]
    assert environment["SYNC_LOG_RETENTION_DAYS"] == {"Ref": "SyncLogRetentionDays"}
    assert template["Globals"]["Function"]["KmsKeyArn"] == key


def test_traces_never_capture_handler_responses_or_errors(template: dict[str, Any]) -> None:
    """Handler responses name files and ids: the Tracer must not record them (nor exception text)."""
    environment = template["Globals"]["Function"]["Environment"]["Variables"]
    assert environment["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    assert environment["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"
    for app in (TEMPLATE.parent / "functions").glob("*/app.py"):
        assert "capture_response=True" not in app.read_text(), app


def test_only_the_functions_that_key_ids_or_refs_may_read_the_pseudonym_key(template: dict[str, Any]) -> None:
    readers = {
        holder
        for holder in _policy_holders(template)
        for statement in expand_policies(template, holder)
        if "secretsmanager:GetSecretValue" in statement["Action"]
        and statement["Resource"] == [{"Ref": "PseudonymKeySecret"}]
    }
    # the two engine partition steps that compute MASTER_PAT_IDs, finalize (the fingerprint of a sync's
    # inputs includes the key's), and the two that write/compare the aggregate encounters' refs
    assert readers == {
        "FinalizeMemberSyncFunction",
        "AggregateMemberPartitionFunction",
        "MatchRosterFunction",
        "SyncMemberClinicFunction",
        "CleanUpRemovedEncountersFunction",
    }
    any_secret = [
        (h, s.get("Sid"))
        for h in _policy_holders(template)
        for s in expand_policies(template, h)
        if any(a.startswith("secretsmanager:") for a in s["Action"])
        and s["Resource"] != [{"Ref": "PseudonymKeySecret"}]
    ]
    assert any_secret == []


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
    statements = [
        (h, s) for h, s in _inline_statements(template) if "states:DescribeExecution" in _as_list(s["Action"])
    ]
    # the lock (is the holder's execution still running?) and the distributed Maps' own map runs
    assert sorted(h for h, _ in statements) == [
        "AcoSyncStateMachine",
        "AcquireAcoLockFunction",
        "McqmSyncStateMachine",
    ]
    for _, statement in statements:
        resources = [r["Fn::Sub"] for r in _as_list(statement["Resource"])]
        assert resources and all(":execution:${AWS::StackName}-" in r for r in resources)


@pytest.mark.parametrize("bucket_name", ["DataBucket", "AccessLogBucket"])
def test_the_buckets_block_public_access_and_are_encrypted(
    template: dict[str, Any], bucket_name: str
) -> None:
    assert set(_resources(template, "AWS::S3::Bucket")) == {"DataBucket", "AccessLogBucket"}
    properties = template["Resources"][bucket_name]["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [rule] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("aws:kms", "AES256")
    assert properties["VersioningConfiguration"]["Status"] == "Enabled"  # an overwrite loses nothing


@pytest.mark.parametrize("bucket_name", ["DataBucket", "AccessLogBucket"])
def test_the_buckets_deny_every_request_without_tls(template: dict[str, Any], bucket_name: str) -> None:
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
