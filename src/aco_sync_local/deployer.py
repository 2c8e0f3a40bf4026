"""Deploy a SAM ``template.yaml`` into moto (moto's CloudFormation cannot run the SAM transform).

Reads the template with cfn-lint's YAML decoder (short-form tags ``!Ref``, ``!GetAtt``, ``!Sub``, ...
become their long forms), resolves intrinsic functions, and creates what a local run needs:
DynamoDB tables, S3 buckets, SQS queues (with DLQ redrive), Secrets Manager secrets (a generated
secret string gets a fresh random value; the name carries a random suffix, so every deployment is a
new secret), Lambda functions (code folder + handler registered for in-process invocation, Globals
merged, environment resolved) and state machines (the ASL read from ``DefinitionUri`` with
``DefinitionSubstitutions`` applied). Everything else (KMS keys, schedules, rules, policies, layers,
alarms, ...) is skipped and logged at debug level (an SQS ``AWS::Lambda::EventSourceMapping`` becomes
an SQS trigger the runner delivers, like a SAM SQS event), and so is a bucket that only receives another
bucket's server access logs (nothing runs against it locally). A reference to a skipped resource
resolves to a placeholder name or ARN.

Physical names and ARNs are computed before anything is created, so resources may refer to each
other in any order (a function's environment may hold a state machine's ARN, a state machine's
substitutions a function's ARN).
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
import string
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from aco_sync_local.functions import register_function_code

if TYPE_CHECKING:  # boto3 only for deploying into moto; plan_stack needs no AWS library
    import boto3

logger = logging.getLogger(__name__)

DEFAULT_STACK_NAME = "aco-sync-local"
LOCAL_ROLE_NAME = "aco-sync-local-execution-role"

TABLE = "AWS::DynamoDB::Table"
BUCKET = "AWS::S3::Bucket"
QUEUE = "AWS::SQS::Queue"
SAM_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
SAM_STATE_MACHINE = "AWS::Serverless::StateMachine"
SFN_STATE_MACHINE = "AWS::StepFunctions::StateMachine"
SECRET = "AWS::SecretsManager::Secret"
EVENT_SOURCE_MAPPING = "AWS::Lambda::EventSourceMapping"
DEPLOYED_TYPES = {
    TABLE,
    BUCKET,
    QUEUE,
    SECRET,
    SAM_FUNCTION,
    LAMBDA_FUNCTION,
    SAM_STATE_MACHINE,
    SFN_STATE_MACHINE,
}

_NO_VALUE = object()  # AWS::NoValue: the property is dropped


class TemplateError(Exception):
    """The template uses something the local deployer cannot resolve (the message says what)."""


@dataclass
class DeployedResource:
    logical_id: str
    resource_type: str
    physical_id: str  # name (table, bucket, function), URL (queue) or ARN (state machine)
    arn: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class SqsTrigger:
    """An ``Events: {Type: SQS}`` of a function: the runner drains the queue into the function."""

    function_logical_id: str
    queue_logical_id: str
    batch_size: int = 10


@dataclass
class LocalDeployment:
    """What ``deploy_template`` created, addressed by the template's logical ids."""

    template_path: Path
    stack_name: str
    region: str
    account_id: str
    resources: dict[str, DeployedResource]
    function_environments: dict[str, dict[str, str]]
    sqs_triggers: list[SqsTrigger] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (logical id, type)

    def _resource(self, logical_id: str) -> DeployedResource:
        try:
            return self.resources[logical_id]
        except KeyError:
            known = ", ".join(sorted(self.resources)) or "none"
            raise KeyError(
                f"{logical_id!r} was not deployed from {self.template_path} (deployed: {known})"
            ) from None

    def physical_id(self, logical_id: str) -> str:
        """Table/bucket/function name, queue URL or state machine ARN (what ``!Ref`` gives)."""
        return self._resource(logical_id).physical_id

    def arn(self, logical_id: str) -> str:
        return self._resource(logical_id).arn

    def env_for(self, function_logical_id: str) -> dict[str, str]:
        """The function's resolved environment variables (Globals merged)."""
        if function_logical_id not in self.function_environments:
            self._resource(function_logical_id)
        return dict(self.function_environments[function_logical_id])

    def logical_ids(self, resource_type: str) -> list[str]:
        return [r.logical_id for r in self.resources.values() if r.resource_type == resource_type]

    def state_machine_logical_ids(self) -> list[str]:
        return [
            r.logical_id
            for r in self.resources.values()
            if r.resource_type in (SAM_STATE_MACHINE, SFN_STATE_MACHINE)
        ]

    def function_logical_ids(self) -> list[str]:
        return [
            r.logical_id
            for r in self.resources.values()
            if r.resource_type in (SAM_FUNCTION, LAMBDA_FUNCTION)
        ]

    def combined_environment(self) -> dict[str, str]:
        """The union of every function's environment (later functions win on a conflicting name)."""
        combined: dict[str, str] = {}
        for logical_id in self.function_logical_ids():
            for name, value in self.function_environments[logical_id].items():
                if name in combined and combined[name] != value:
                    logger.warning(
                        "Environment variable %s differs between functions (%r vs %r); using %r",
                        name,
                        combined[name],
                        value,
                        value,
                    )
                combined[name] = value
        return combined


def load_template(template_path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML (or JSON) template, short-form tags included (``!Ref x`` ->
    ``{"Ref": "x"}``, ``!GetAtt a.b`` -> ``{"Fn::GetAtt": "a.b"}``, ``!Sub ...`` -> ``{"Fn::Sub": ...}``).
    PyYAML's C loader when available: cfn-lint's decoder costs ~0.7 s of imports per run."""
    text = Path(template_path).read_text(encoding="utf-8")
    try:
        template = yaml.load(text, Loader=_TemplateLoader)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{template_path}: cannot parse the template: {exc}") from exc
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise TemplateError(f"{template_path}: not a CloudFormation template (no Resources mapping)")
    return _plain(template)


class _TemplateLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML with CloudFormation's short-form intrinsic function tags."""


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _short_form)


def _plain(value: Any) -> Any:
    """cfn-lint's node classes -> plain dicts, lists and strings."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


@dataclass(frozen=True)
class _Stack:
    """Where a template is deployed: the stack's name, region and account, and its parameter overrides."""

    name: str
    region: str
    account_id: str
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)


class _Resolver:
    """Resolves intrinsic functions against parameters, pseudo parameters and planned resources."""

    def __init__(self, template: dict[str, Any], stack: _Stack) -> None:
        self.template = template
        self.resources: dict[str, DeployedResource] = {}
        region, account_id, stack_name = stack.region, stack.account_id, stack.name
        self.pseudo: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": account_id,
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        self.parameters: dict[str, Any] = {}
        for name, spec in (template.get("Parameters") or {}).items():
            if name in stack.parameter_overrides:
                self.parameters[name] = stack.parameter_overrides[name]
            elif "Default" in spec:
                self.parameters[name] = spec["Default"]
            else:
                raise TemplateError(f"Parameter {name} has no Default; pass it as a parameter override")
            if spec.get("Type", "").startswith("List<") or spec.get("Type") == "CommaDelimitedList":
                value = self.parameters[name]
                if isinstance(value, str):
                    self.parameters[name] = [v.strip() for v in value.split(",")] if value else []
        self._conditions: dict[str, bool] = {}
        self.skipped_resources: set[str] = set()

    # -- conditions ----------------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            definitions = self.template.get("Conditions") or {}
            if name not in definitions:
                raise TemplateError(f"Unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(definitions[name]))
        return self._conditions[name]

    # -- references ----------------------------------------------------------------------------
    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name].physical_id
        if name in self.skipped_resources:
            logger.debug("!Ref %s: not deployed locally; using a placeholder name", name)
            return f"{self.pseudo['AWS::StackName']}-{name}"
        raise TemplateError(f"!Ref {name}: not a parameter or a resource the local deployer creates")

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None and logical_id in self.skipped_resources:
            logger.debug("!GetAtt %s.%s: not deployed locally; using a placeholder", logical_id, attribute)
            region, account = self.pseudo["AWS::Region"], self.pseudo["AWS::AccountId"]
            return f"arn:aws:local:{region}:{account}:{logical_id}/{attribute}"
        if resource is None:
            raise TemplateError(
                f"!GetAtt {logical_id}.{attribute}: not a resource the local deployer creates"
            )
        if attribute == "Arn":
            return resource.arn
        if attribute in resource.attributes:
            return resource.attributes[attribute]
        raise TemplateError(f"!GetAtt {logical_id}.{attribute}: attribute not supported locally")

    def substitute(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return str(self.resolve(variables[expression]))
            if "." in expression and expression.split(".", 1)[0] in self.resources:
                logical_id, attribute = expression.split(".", 1)
                return self.get_att(logical_id, attribute)
            return str(self.ref(expression))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    # -- values --------------------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            parts = (
                argument.split(".", 1) if isinstance(argument, str) else [self.resolve(a) for a in argument]
            )
            return self.get_att(parts[0], parts[1])
        if name == "Fn::Sub":
            if isinstance(argument, str):
                return self.substitute(argument, {})
            text, variables = argument
            return self.substitute(text, variables)
        if name == "Fn::Join":
            separator, items = argument
            return str(separator).join(str(v) for v in self.resolve(items))
        if name == "Fn::If":
            condition_name, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition_name) else when_false)
        if name == "Fn::Equals":
            left, right = (self.resolve(a) for a in argument)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self.resolve(argument[0])
        if name == "Fn::And":
            return all(self.resolve(a) for a in argument)
        if name == "Fn::Or":
            return any(self.resolve(a) for a in argument)
        if name == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Fn::Split":
            separator, text = argument
            return str(self.resolve(text)).split(separator)
        if name == "Fn::FindInMap":
            map_name, top, second = (self.resolve(a) for a in argument[:3])
            return self.template["Mappings"][map_name][top][second]
        if name == "Fn::GetAZs":
            region = self.resolve(argument) or self.pseudo["AWS::Region"]
            return [f"{region}a", f"{region}b", f"{region}c"]
        if name == "Fn::Base64":
            import base64

            return base64.b64encode(str(self.resolve(argument)).encode()).decode()
        if name == "Fn::ToJsonString":
            return json.dumps(self.resolve(argument), separators=(",", ":"))
        raise TemplateError(f"{name} is not supported by the local deployer")


def _local_name(stack_name: str, logical_id: str, limit: int, lower: bool = False) -> str:
    name = f"{stack_name}-{logical_id}"[:limit]
    return name.lower() if lower else name


def _plan(
    resolver: _Resolver, logical_id: str, resource_type: str, properties: dict[str, Any]
) -> DeployedResource:
    """Physical id, ARN and attributes of a resource, before it is created."""
    stack = str(resolver.pseudo["AWS::StackName"])
    region = str(resolver.pseudo["AWS::Region"])
    account = str(resolver.pseudo["AWS::AccountId"])

    def explicit(prop: str) -> str | None:
        value = properties.get(prop)
        return None if value is None else str(resolver.resolve(value))

    if resource_type == TABLE:
        name = explicit("TableName") or _local_name(stack, logical_id, 255)
        arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        return DeployedResource(logical_id, resource_type, name, arn, {"StreamArn": f"{arn}/stream/local"})
    if resource_type == BUCKET:
        name = explicit("BucketName") or _local_name(stack, logical_id, 63, lower=True)
        arn = f"arn:aws:s3:::{name}"
        attributes = {
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
        }
        return DeployedResource(logical_id, resource_type, name, arn, attributes)
    if resource_type == QUEUE:
        fifo = str(resolver.resolve(properties.get("FifoQueue", False))).lower() == "true"
        name = explicit("QueueName") or _local_name(stack, logical_id, 75 if fifo else 80)
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        url = f"https://sqs.{region}.amazonaws.com/{account}/{name}"
        arn = f"arn:aws:sqs:{region}:{account}:{name}"
        return DeployedResource(logical_id, resource_type, url, arn, {"QueueName": name, "QueueUrl": url})
    if resource_type == SECRET:
        # Ref of a secret is its ARN on AWS; locally its name (every Secrets Manager call accepts both)
        name = explicit("Name") or f"{_local_name(stack, logical_id, 200)}-{secrets.token_hex(4)}"
        arn = f"arn:aws:secretsmanager:{region}:{account}:secret:{name}"
        return DeployedResource(logical_id, resource_type, name, arn)
    if resource_type in (SAM_FUNCTION, LAMBDA_FUNCTION):
        name = explicit("FunctionName") or _local_name(stack, logical_id, 64)
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        return DeployedResource(logical_id, resource_type, name, arn)
    # state machines
    name = explicit("Name") or explicit("StateMachineName") or _local_name(stack, logical_id, 80)
    arn = f"arn:aws:states:{region}:{account}:stateMachine:{name}"
    return DeployedResource(logical_id, resource_type, arn, arn, {"Name": name})


def _merge_globals(globals_section: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's Globals rules: maps merge (the resource wins), lists and scalars are replaced."""
    merged: dict[str, Any] = dict(globals_section)
    for key, value in properties.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge_globals(merged[key], value)
        else:
            merged[key] = value
    return merged


def _substitute_definition(definition: Any, substitutions: Mapping[str, str]) -> Any:
    if isinstance(definition, dict):
        return {k: _substitute_definition(v, substitutions) for k, v in definition.items()}
    if isinstance(definition, list):
        return [_substitute_definition(v, substitutions) for v in definition]
    if isinstance(definition, str):

        def replace(match: re.Match[str]) -> str:
            return substitutions.get(match.group(1), match.group(0))

        return re.sub(r"\$\{([A-Za-z0-9_]+)\}", replace, definition)
    return definition


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "README.txt", "Runs in-process from its CodeUri folder (aco_sync_local.moto_patches)."
        )
    return buffer.getvalue()


def _ensure_role(session: boto3.Session) -> str:
    iam = session.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    try:
        return str(iam.get_role(RoleName=LOCAL_ROLE_NAME)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=LOCAL_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
        return str(role["Role"]["Arn"])


_FUNCTION_KEYS = {"Handler", "CodeUri", "Runtime", "Timeout", "MemorySize", "Environment", "FunctionName"}
_STATE_MACHINE_KEYS = {
    "Definition",
    "DefinitionUri",
    "DefinitionString",
    "DefinitionSubstitutions",
    "Type",
    "Name",
}
_TABLE_KEYS = (
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "ProvisionedThroughput",
    "StreamSpecification",
    "SSESpecification",
    "TableClass",
    "DeletionProtectionEnabled",
)
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "SqsManagedSseEnabled",
)


_USED_KEYS: dict[str, set[str]] = {
    TABLE: {*_TABLE_KEYS, "TimeToLiveSpecification", "TableName"},
    BUCKET: {"BucketName"},
    QUEUE: {*_QUEUE_ATTRIBUTES, "QueueName"},
    SECRET: {"Name", "SecretString", "GenerateSecretString"},
    SAM_STATE_MACHINE: _STATE_MACHINE_KEYS,
    SFN_STATE_MACHINE: _STATE_MACHINE_KEYS | {"StateMachineName"},
}


def _create_table(session: boto3.Session, resource: DeployedResource, properties: dict[str, Any]) -> None:
    dynamodb = session.client("dynamodb")
    arguments = {key: properties[key] for key in _TABLE_KEYS if key in properties}
    sse = arguments.pop("SSESpecification", None)
    if isinstance(sse, dict):  # CloudFormation's SSEEnabled is the API's Enabled
        arguments["SSESpecification"] = {"Enabled": str(sse.get("SSEEnabled", "false")).lower() == "true"}
        for key in ("SSEType", "KMSMasterKeyId"):
            if key in sse:
                arguments["SSESpecification"][key] = sse[key]
    for index in arguments.get("GlobalSecondaryIndexes", []):
        index.pop("ContributorInsightsSpecification", None)
    if "StreamSpecification" in arguments:
        arguments["StreamSpecification"] = {"StreamEnabled": True, **arguments["StreamSpecification"]}
    dynamodb.create_table(TableName=resource.physical_id, **arguments)
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and str(ttl.get("Enabled", "false")).lower() == "true":
        dynamodb.update_time_to_live(
            TableName=resource.physical_id,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    logger.debug(
        "Skipped for table %s: PITR, tags, contributor insights (not needed locally)", resource.logical_id
    )


def _create_bucket(session: boto3.Session, resource: DeployedResource, region: str) -> None:
    s3 = session.client("s3")
    if region == "us-east-1":
        s3.create_bucket(Bucket=resource.physical_id)
    else:
        s3.create_bucket(
            Bucket=resource.physical_id,
            CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
        )
    logger.debug("Skipped for bucket %s: encryption, policies, notifications", resource.logical_id)


def _create_queue(session: boto3.Session, resource: DeployedResource, properties: dict[str, Any]) -> None:
    attributes = {
        key: str(properties[key]).lower() if isinstance(properties[key], bool) else str(properties[key])
        for key in _QUEUE_ATTRIBUTES
        if key in properties
    }
    session.client("sqs").create_queue(QueueName=resource.attributes["QueueName"], Attributes=attributes)


def _create_secret(session: boto3.Session, resource: DeployedResource, properties: dict[str, Any]) -> None:
    value = properties.get("SecretString")
    if value is None:
        generate = properties.get("GenerateSecretString") or {}
        length = int(generate.get("PasswordLength", 32))
        alphabet = string.ascii_letters + string.digits
        if str(generate.get("ExcludePunctuation", "false")).lower() != "true":
            alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
        value = "".join(secrets.choice(alphabet) for _ in range(length))
    session.client("secretsmanager").create_secret(Name=resource.physical_id, SecretString=str(value))
    logger.debug("Skipped for secret %s: KMS key, tags, rotation", resource.logical_id)


def _log_only_buckets(resources: Mapping[str, Any]) -> set[str]:
    """Buckets that are only the destination of another bucket's server access logs."""
    targets = set()
    for spec in resources.values():
        if spec.get("Type") == BUCKET:
            destination = ((spec.get("Properties") or {}).get("LoggingConfiguration") or {}).get(
                "DestinationBucketName"
            )
            logical_id = _logical_id_of(destination)
            if logical_id:
                targets.add(logical_id)
    return targets


def _set_redrive(session: boto3.Session, resource: DeployedResource, properties: dict[str, Any]) -> None:
    redrive = properties.get("RedrivePolicy")
    if not redrive:
        return
    if isinstance(redrive, str):
        redrive = json.loads(redrive)
    policy = {
        "deadLetterTargetArn": redrive["deadLetterTargetArn"],
        "maxReceiveCount": str(redrive["maxReceiveCount"]),
    }
    session.client("sqs").set_queue_attributes(
        QueueUrl=resource.physical_id, Attributes={"RedrivePolicy": json.dumps(policy)}
    )


@dataclass
class _TemplatePlan:
    """A template read and planned for a stack: its resolver, the resources run locally (each with its
    properties, the template's Globals merged in) and the (logical id, type) of those skipped (not
    needed to run locally)."""

    template_path: Path
    template: dict[str, Any]
    stack: _Stack
    resolver: _Resolver
    planned: list[tuple[DeployedResource, dict[str, Any]]]
    skipped: list[tuple[str, str]]

    def deployment(
        self, function_environments: dict[str, dict[str, str]], sqs_triggers: list[SqsTrigger]
    ) -> LocalDeployment:
        return LocalDeployment(
            template_path=self.template_path,
            stack_name=self.stack.name,
            region=self.stack.region,
            account_id=self.stack.account_id,
            resources=self.resolver.resources,
            function_environments=function_environments,
            sqs_triggers=sqs_triggers,
            skipped=self.skipped,
        )


def _plan_template(template_path: Path, stack: _Stack) -> _TemplatePlan:
    template_path = Path(template_path).resolve()
    template = load_template(template_path)
    resolver = _Resolver(template, stack)
    globals_section = template.get("Globals") or {}
    planned: list[tuple[DeployedResource, dict[str, Any]]] = []
    skipped: list[tuple[str, str]] = []
    log_buckets = _log_only_buckets(template["Resources"])
    for logical_id, spec in template["Resources"].items():
        resource_type = spec.get("Type", "")
        if spec.get("Condition") and not resolver.condition(spec["Condition"]):
            logger.debug(
                "Skipped %s (%s): condition %s is false", logical_id, resource_type, spec["Condition"]
            )
            continue
        if resource_type not in DEPLOYED_TYPES or logical_id in log_buckets:
            logger.debug("Skipped %s (%s): not needed to run locally", logical_id, resource_type)
            skipped.append((logical_id, resource_type))
            resolver.skipped_resources.add(logical_id)
            continue
        properties = dict(spec.get("Properties") or {})
        if resource_type == SAM_FUNCTION:
            properties = _merge_globals(globals_section.get("Function") or {}, properties)
        elif resource_type == SAM_STATE_MACHINE:
            properties = _merge_globals(globals_section.get("StateMachine") or {}, properties)
        resource = _plan(resolver, logical_id, resource_type, properties)
        resolver.resources[logical_id] = resource
        planned.append((resource, properties))
    return _TemplatePlan(template_path, template, stack, resolver, planned, skipped)


def _sqs_event_triggers(
    resolver: _Resolver, function_logical_id: str, events: Mapping[str, Any]
) -> list[SqsTrigger]:
    """The function's SQS event triggers. Other events hold references to resources we skip
    (schedules, rules): they are skipped."""
    triggers: list[SqsTrigger] = []
    for event_name, event in events.items():
        if event.get("Type") == "SQS":
            queue_logical_id = _logical_id_of(event.get("Properties", {}).get("Queue", {}))
            if queue_logical_id:
                batch = int(resolver.resolve(event["Properties"].get("BatchSize", 10)))
                triggers.append(SqsTrigger(function_logical_id, queue_logical_id, batch))
        else:
            logger.debug("Skipped event %s (%s) of %s", event_name, event.get("Type"), function_logical_id)
    return triggers


def _event_source_mapping_triggers(template: dict[str, Any], resolver: _Resolver) -> list[SqsTrigger]:
    """The SQS triggers declared as their own resources (AWS::Lambda::EventSourceMapping)."""
    triggers: list[SqsTrigger] = []
    for spec in template["Resources"].values():
        if spec.get("Type") == EVENT_SOURCE_MAPPING:
            mapping = spec.get("Properties") or {}
            function_logical_id = _logical_id_of(mapping.get("FunctionName"))
            queue = resolver.resources.get(_logical_id_of(mapping.get("EventSourceArn")) or "")
            if function_logical_id and queue is not None and queue.resource_type == QUEUE:
                batch = int(resolver.resolve(mapping.get("BatchSize", 10)))
                triggers.append(SqsTrigger(function_logical_id, queue.logical_id, batch))
    return triggers


def deploy_template(
    template_path: Path,
    *,
    session: boto3.Session | None = None,
    stack_name: str = DEFAULT_STACK_NAME,
    parameter_overrides: Mapping[str, str] | None = None,
) -> LocalDeployment:
    """Create the template's tables, buckets, queues, functions and state machines in moto.

    Must run inside an active moto mock (``LocalAws`` does that). Function handlers are registered
    for in-process invocation; call ``aco_sync_local.moto_patches.apply_moto_patches()`` first.
    """
    import boto3

    session = session or boto3.Session()
    region = session.region_name or "us-east-1"
    account_id = str(session.client("sts").get_caller_identity()["Account"])
    plan = _plan_template(template_path, _Stack(stack_name, region, account_id, parameter_overrides or {}))
    template_path, base_dir, template = plan.template_path, plan.template_path.parent, plan.template
    resolver, planned, skipped = plan.resolver, plan.planned, plan.skipped

    role_arn = _ensure_role(session)
    function_environments: dict[str, dict[str, str]] = {}
    sqs_triggers: list[SqsTrigger] = []
    order = {
        TABLE: 0,
        BUCKET: 0,
        QUEUE: 0,
        SECRET: 0,
        SAM_FUNCTION: 1,
        LAMBDA_FUNCTION: 1,
        SAM_STATE_MACHINE: 2,
        SFN_STATE_MACHINE: 2,
    }
    for resource, raw_properties in sorted(planned, key=lambda item: order[item[0].resource_type]):
        kind = resource.resource_type
        if kind in (SAM_FUNCTION, LAMBDA_FUNCTION):
            # Events hold references to resources we skip (schedules, rules): read only SQS triggers.
            events = raw_properties.get("Events") or {}
            properties = resolver.resolve({k: v for k, v in raw_properties.items() if k in _FUNCTION_KEYS})
            function_environments[resource.logical_id] = _create_function(
                session, resource, properties, base_dir, role_arn
            )
            sqs_triggers.extend(_sqs_event_triggers(resolver, resource.logical_id, events))
            continue
        properties = resolver.resolve({k: v for k, v in raw_properties.items() if k in _USED_KEYS[kind]})
        if kind == TABLE:
            _create_table(session, resource, properties)
        elif kind == BUCKET:
            _create_bucket(session, resource, region)
        elif kind == QUEUE:
            _create_queue(session, resource, properties)
        elif kind == SECRET:
            _create_secret(session, resource, properties)
        else:
            _create_state_machine(session, resource, properties, base_dir, role_arn)
    sqs_triggers.extend(_event_source_mapping_triggers(template, resolver))
    for resource, raw_properties in planned:
        if resource.resource_type == QUEUE:
            _set_redrive(
                session, resource, resolver.resolve({"RedrivePolicy": raw_properties.get("RedrivePolicy")})
            )

    deployment = plan.deployment(function_environments, sqs_triggers)
    logger.info(
        "Deployed %d resources from %s into moto (%d skipped)",
        len(resolver.resources),
        template_path,
        len(skipped),
    )
    return deployment


def _logical_id_of(reference: Any) -> str | None:
    if isinstance(reference, dict):
        if "Ref" in reference:
            return str(reference["Ref"])
        if "Fn::GetAtt" in reference:
            target = reference["Fn::GetAtt"]
            return str(target.split(".")[0] if isinstance(target, str) else target[0])
    return None


def _function_code(
    resource: DeployedResource, properties: dict[str, Any], base_dir: Path
) -> tuple[Path, str, dict[str, str]]:
    """(code folder, handler, resolved environment) of a function; TemplateError when not local."""
    handler = properties.get("Handler")
    code_uri = properties.get("CodeUri")
    if not handler or not isinstance(code_uri, str):
        raise TemplateError(
            f"{resource.logical_id}: the local runner needs a Handler and a local CodeUri folder "
            f"(got Handler={handler!r}, CodeUri={code_uri!r})"
        )
    code_dir = (base_dir / code_uri).resolve()
    if not code_dir.is_dir():
        raise TemplateError(f"{resource.logical_id}: CodeUri {code_dir} is not a folder")
    variables = (properties.get("Environment") or {}).get("Variables") or {}
    environment = {name: _env_string(value) for name, value in variables.items()}
    return code_dir, str(handler), environment


def _create_function(
    session: boto3.Session,
    resource: DeployedResource,
    properties: dict[str, Any],
    base_dir: Path,
    role_arn: str,
) -> dict[str, str]:
    code_dir, handler, environment = _function_code(resource, properties, base_dir)
    session.client("lambda").create_function(
        FunctionName=resource.physical_id,
        Runtime=str(properties.get("Runtime", "python3.11")),
        Role=role_arn,
        Handler=handler,
        Code={"ZipFile": _placeholder_zip()},
        Timeout=int(properties.get("Timeout", 3)),
        MemorySize=int(properties.get("MemorySize", 128)),
        Environment={"Variables": environment},
    )
    register_function_code(resource.physical_id, code_dir, handler)
    return environment


def _env_string(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _state_machine_definition(
    resource: DeployedResource, properties: dict[str, Any], base_dir: Path
) -> dict[str, Any]:
    """The ASL of a state machine with its DefinitionSubstitutions applied."""
    if "Definition" in properties:
        definition = properties["Definition"]
    elif "DefinitionUri" in properties:
        uri = properties["DefinitionUri"]
        if not isinstance(uri, str):
            raise TemplateError(f"{resource.logical_id}: DefinitionUri must be a local file path locally")
        path = (base_dir / uri).resolve()
        try:
            definition = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TemplateError(f"{resource.logical_id}: cannot read DefinitionUri {path}: {exc}") from exc
    elif "DefinitionString" in properties:
        definition = json.loads(properties["DefinitionString"])
    else:
        raise TemplateError(f"{resource.logical_id}: no Definition, DefinitionUri or DefinitionString")
    substitutions = {k: _env_string(v) for k, v in (properties.get("DefinitionSubstitutions") or {}).items()}
    definition = _substitute_definition(definition, substitutions)
    leftover = sorted(set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", json.dumps(definition))))
    if leftover:
        raise TemplateError(
            f"{resource.logical_id}: definition placeholders without a substitution: {leftover}"
        )
    return dict(definition)


def _create_state_machine(
    session: boto3.Session,
    resource: DeployedResource,
    properties: dict[str, Any],
    base_dir: Path,
    role_arn: str,
) -> None:
    definition = _state_machine_definition(resource, properties, base_dir)
    session.client("stepfunctions").create_state_machine(
        name=resource.attributes["Name"],
        definition=json.dumps(definition),
        roleArn=role_arn,
        type=str(properties.get("Type", "STANDARD")),
    )


@dataclass
class FunctionSpec:
    """A function of the template as the in-process registry runs it."""

    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout_seconds: int = 3
    memory_mb: int = 128


@dataclass
class StackPlan:
    """What ``plan_stack`` read from the template: no AWS resource is created."""

    deployment: LocalDeployment
    functions: dict[str, FunctionSpec]  # by logical id
    state_machines: dict[str, dict[str, Any]]  # logical id -> ASL (substitutions applied)


LOCAL_ACCOUNT_ID = "123456789012"


def plan_stack(
    template_path: Path,
    *,
    stack_name: str = DEFAULT_STACK_NAME,
    region: str = "us-east-1",
    account_id: str = LOCAL_ACCOUNT_ID,
    parameter_overrides: Mapping[str, str] | None = None,
) -> StackPlan:
    """The template's functions (handler, code folder, resolved environment), state machines (ASL with
    substitutions), queues and SQS triggers, with the names and ARNs ``deploy_template`` would give
    them, without creating anything (the local runner: ``aco_sync_local.local_stack``). Functions are
    registered for in-process invocation."""
    plan = _plan_template(template_path, _Stack(stack_name, region, account_id, parameter_overrides or {}))
    template, base_dir, resolver = plan.template, plan.template_path.parent, plan.resolver
    functions: dict[str, FunctionSpec] = {}
    machines: dict[str, dict[str, Any]] = {}
    sqs_triggers: list[SqsTrigger] = []
    for resource, raw_properties in plan.planned:
        kind = resource.resource_type
        if kind in (SAM_FUNCTION, LAMBDA_FUNCTION):
            properties = resolver.resolve({k: v for k, v in raw_properties.items() if k in _FUNCTION_KEYS})
            code_dir, handler, environment = _function_code(resource, properties, base_dir)
            functions[resource.logical_id] = FunctionSpec(
                resource.logical_id,
                resource.physical_id,
                resource.arn,
                code_dir,
                handler,
                environment,
                int(properties.get("Timeout", 3)),
                int(properties.get("MemorySize", 128)),
            )
            register_function_code(resource.physical_id, code_dir, handler)
            sqs_triggers.extend(
                _sqs_event_triggers(resolver, resource.logical_id, raw_properties.get("Events") or {})
            )
        elif kind in (SAM_STATE_MACHINE, SFN_STATE_MACHINE):
            properties = resolver.resolve({k: v for k, v in raw_properties.items() if k in _USED_KEYS[kind]})
            machines[resource.logical_id] = _state_machine_definition(resource, properties, base_dir)
    sqs_triggers.extend(_event_source_mapping_triggers(template, resolver))
    deployment = plan.deployment({lid: dict(f.environment) for lid, f in functions.items()}, sqs_triggers)
    return StackPlan(deployment, functions, machines)
