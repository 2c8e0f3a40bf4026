"""The deployer creates the tiny template's resources in moto with every reference resolved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aco_sync_local.deployer import TemplateError, load_template
from aco_sync_local.local_aws import LocalAws


def test_env_vars_resolve_to_physical_names_and_globals_merge(tiny_template: Path) -> None:
    with LocalAws(tiny_template) as aws:
        deployment = aws.deployment
        step_env = deployment.env_for("StepFunction")
        assert step_env == {
            "TABLE_NAME": deployment.physical_id("Table"),
            "BUCKET_NAME": "local-runner-local-123456789012",
            "STAGE": "local",
            "QUEUE_URL": deployment.physical_id("Queue"),
            "GREETING": "hello-local",
        }
        assert deployment.env_for("StartFunction")["MAIN_STATE_MACHINE_ARN"] == deployment.arn(
            "MainStateMachine"
        )
        # Functions created in moto carry the same resolved environment.
        configuration = aws.client("lambda").get_function_configuration(
            FunctionName=deployment.physical_id("StepFunction")
        )
        assert configuration["Environment"]["Variables"] == step_env
        assert configuration["Handler"] == "app.lambda_handler"


def test_tables_buckets_queues_are_created_with_their_settings(tiny_template: Path) -> None:
    with LocalAws(tiny_template) as aws:
        deployment = aws.deployment
        table = aws.client("dynamodb").describe_table(TableName=deployment.physical_id("Table"))["Table"]
        assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["gsi1"]
        assert aws.bucket_name() in [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]]
        attributes = aws.client("sqs").get_queue_attributes(
            QueueUrl=deployment.physical_id("Queue"), AttributeNames=["All"]
        )["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == deployment.arn("DeadLetterQueue")
        assert int(redrive["maxReceiveCount"]) == 3
        assert attributes["VisibilityTimeout"] == "60"


def test_state_machines_get_their_definition_with_substitutions_applied(tiny_template: Path) -> None:
    with LocalAws(tiny_template) as aws:
        deployment = aws.deployment
        assert deployment.arn("ChildStateMachine").endswith(":stateMachine:aco-sync-local-child")
        described = aws.client("stepfunctions").describe_state_machine(
            stateMachineArn=deployment.arn("MainStateMachine")
        )
        definition = json.loads(described["definition"])
        assert definition["States"]["Validate"]["Resource"] == deployment.arn("StepFunction")
        start_child = definition["States"]["StartChild"]["Parameters"]
        assert start_child["StateMachineArn"] == deployment.arn("ChildStateMachine")
        assert "${" not in described["definition"]


def test_unneeded_resources_and_events_are_skipped_and_sqs_triggers_recorded(tiny_template: Path) -> None:
    with LocalAws(tiny_template) as aws:
        deployment = aws.deployment
        assert deployment.skipped == [("Alarm", "AWS::CloudWatch::Alarm")]
        assert [
            (t.function_logical_id, t.queue_logical_id, t.batch_size) for t in deployment.sqs_triggers
        ] == [("RecordFunction", "Queue", 5)]
        with pytest.raises(KeyError, match="Alarm"):
            deployment.physical_id("Alarm")


def test_parameter_overrides_and_conditions(tiny_template: Path) -> None:
    with LocalAws(tiny_template, parameter_overrides={"Stage": "prod"}) as aws:
        assert aws.deployment.env_for("StepFunction")["GREETING"] == "prod"
        assert aws.bucket_name() == "local-runner-prod-123456789012"


def test_unresolvable_reference_is_a_clear_error(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Ref Missing\n"
    )
    assert load_template(template)["Resources"]["Queue"]["Properties"]["QueueName"] == {"Ref": "Missing"}
    with pytest.raises(TemplateError, match="!Ref Missing"), LocalAws(template):
        pass


def test_missing_definition_substitution_is_reported(tmp_path: Path) -> None:
    (tmp_path / "machine.asl.json").write_text(
        json.dumps({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${Nope}", "End": True}}})
    )
    (tmp_path / "template.yaml").write_text(
        "Resources:\n"
        "  Machine:\n"
        "    Type: AWS::Serverless::StateMachine\n"
        "    Properties:\n"
        "      DefinitionUri: machine.asl.json\n"
    )
    with pytest.raises(
        TemplateError, match=r"Machine: definition placeholders without a substitution: \['Nope'\]"
    ):
        LocalAws(tmp_path / "template.yaml").__enter__()
