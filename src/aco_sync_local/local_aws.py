"""``LocalAws``: the ACO Sync stack running in moto, in this process.

    with LocalAws(fast_retries=True) as aws:          # deploys <repo>/template.yaml
        aws.upload_folder(Path("my-aco"))             # a folder laid out like the data bucket
        arn = aws.start_execution("AcoSyncStateMachine", {"aco_id": "A1"})
        aws.wait_for_executions(timeout=120)
        rows = aws.execution_history(arn)

moto executes the ASL on background threads and invokes the real Lambda handlers in-process
(``aco_sync_local.moto_patches``). Handlers read their configuration (TABLE_NAME, BUCKET_NAME, ...)
from ``os.environ``; because executions run on threads, ``LocalAws`` sets the union of every
function's resolved environment process-wide on enter and restores the previous values on exit.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Unpack

import boto3
from moto import mock_aws

from aco_sync_local import executions
from aco_sync_local.deployer import BUCKET, LocalDeployment, deploy_template
from aco_sync_local.executions import ExecutionSummary, LocalFunctionError, json_or_text
from aco_sync_local.moto_patches import apply_moto_patches, fast_retries_enabled, set_fast_retries
from aco_sync_local.stack_environment import (
    SavedEnvironment,
    StackOptions,
    StartedStack,
    region_environment,
)

logger = logging.getLogger(__name__)

MAX_POLL_INTERVAL = 0.25  # seconds between two polls of wait_for_executions, at most
_LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class LocalAws(StartedStack):
    """A moto mock with the repo's SAM template deployed into it (context manager)."""

    def __init__(self, template_path: Path | None = None, **options: Unpack[StackOptions]) -> None:
        super().__init__(template_path, **options)
        self._mock: Any = None
        self._env = SavedEnvironment()
        self._saved_fast_retries = False
        self._deployment: LocalDeployment | None = None
        self._session: boto3.Session | None = None
        # one client per service: boto3 clients are thread-safe, sessions are not (created under the lock)
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._finished_executions: dict[str, ExecutionSummary] = {}  # never change again: described once

    # -- lifecycle -----------------------------------------------------------------------------
    def _start(self) -> None:
        self._env.set(_LOCAL_CREDENTIALS, only_if_missing=True)
        self._env.set(region_environment(self.region))
        self._saved_fast_retries = fast_retries_enabled()
        mock = mock_aws(
            config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        )
        mock.start()
        self._mock = mock
        apply_moto_patches()
        set_fast_retries(self.fast_retries)
        with self._clients_lock:
            self._clients = {}
            self._session = boto3.Session(region_name=self.region)
        self._deployment = deploy_template(
            self.template_path,
            session=self._session,
            stack_name=self.stack_name,
            parameter_overrides=self.parameter_overrides,
        )
        self._env.set({**self._deployment.combined_environment(), **self.env_overrides})

    def _stop(self) -> None:
        if self._mock is not None:
            if self._deployment is not None:
                set_fast_retries(True)  # executions waiting to retry go on now
                try:  # never let execution threads outlive the mock (they would call real AWS)
                    self.wait_for_executions(timeout=30)
                except Exception as error:
                    logger.warning("Stopping the local stack while executions still run: %s", error)
            self._mock.stop()
            self._mock = None
        with self._clients_lock:  # clients made under the mock must not outlive it
            self._clients = {}
        self._finished_executions = {}
        set_fast_retries(self._saved_fast_retries)
        self._env.restore()

    # -- access --------------------------------------------------------------------------------
    @property
    def deployment(self) -> LocalDeployment:
        if self._deployment is None:
            raise RuntimeError("LocalAws is not started: use it as a context manager")
        return self._deployment

    def client(self, service: str) -> Any:
        """The stack's boto3 client of ``service``, created once and shared (by every thread)."""
        cached = self._clients.get(service)
        if cached is not None:
            return cached
        with self._clients_lock:
            if self._session is None:
                raise RuntimeError("LocalAws is not started: use it as a context manager")
            cached = self._clients.get(service)
            if cached is None:
                cached = self._clients[service] = self._session.client(service)  # type: ignore[call-overload]
            return cached

    def _only(self, resource_type: str, logical_id: str | None) -> str:
        if logical_id:
            return logical_id
        candidates = self.deployment.logical_ids(resource_type)
        if len(candidates) != 1:
            raise ValueError(
                f"The template has {len(candidates)} {resource_type} resources; name one: {candidates}"
            )
        return candidates[0]

    def bucket_name(self, bucket_logical_id: str | None = None) -> str:
        return self.deployment.physical_id(self._only(BUCKET, bucket_logical_id))

    # -- S3 ------------------------------------------------------------------------------------
    def upload_folder(
        self, folder: Path, *, bucket_logical_id: str | None = None, prefix: str = ""
    ) -> list[str]:
        """Upload every file under ``folder`` to the bucket; the relative path becomes the key."""
        folder = Path(folder)
        if not folder.is_dir():
            raise NotADirectoryError(f"Not a folder: {folder}")
        s3 = self.client("s3")
        bucket = self.bucket_name(bucket_logical_id)
        keys = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder)
            if any(part.startswith(".") for part in relative.parts):
                continue  # .DS_Store, .aco-sync state, editor files
            key = prefix + relative.as_posix()
            s3.upload_file(str(path), bucket, key)
            keys.append(key)
        logger.info("Uploaded %d files from %s to s3://%s/%s", len(keys), folder, bucket, prefix)
        return keys

    def list_keys(self, prefix: str = "", *, bucket_logical_id: str | None = None) -> list[str]:
        paginator = self.client("s3").get_paginator("list_objects_v2")
        bucket = self.bucket_name(bucket_logical_id)
        return [
            obj["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]

    def download_prefix(self, prefix: str, dest: Path, *, bucket_logical_id: str | None = None) -> list[Path]:
        """Download every object under ``prefix`` into ``dest`` (keys relative to the prefix)."""
        s3 = self.client("s3")
        bucket = self.bucket_name(bucket_logical_id)
        dest = Path(dest)
        written = []
        for key in self.list_keys(prefix, bucket_logical_id=bucket_logical_id):
            relative = key[len(prefix) :].lstrip("/")
            if not relative or relative.endswith("/"):
                continue
            target = (dest / relative).resolve()
            if not target.is_relative_to(dest.resolve()):
                raise ValueError(f"Refusing to write {key!r} outside {dest}")
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, key, str(target))
            written.append(target)
        return written

    # -- Lambda --------------------------------------------------------------------------------
    def invoke(self, function_logical_id: str, event: Any) -> Any:
        """Invoke a function synchronously; returns its result or raises ``LocalFunctionError``."""
        name = self.deployment.physical_id(function_logical_id)
        response = self.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode("utf-8"))
        payload = json_or_text(response["Payload"].read().decode("utf-8"))
        if response.get("FunctionError"):
            details = payload if isinstance(payload, dict) else {}
            raise LocalFunctionError(
                function_logical_id,
                str(details.get("errorType", "Unknown")),
                str(details.get("errorMessage", payload)),
            )
        return payload

    def drain_queues(self, *, max_rounds: int = 20) -> int:
        """Deliver the messages of every SQS-triggered function's queue to the function.

        moto does not run SQS event source mappings without Docker; this stands in for them.
        Messages whose handler raised stay in the queue (redrive to the DLQ applies). Returns the
        number of messages processed successfully.
        """
        sqs = self.client("sqs")
        delivered = 0
        for _ in range(max_rounds):
            progressed = False
            for trigger in self.deployment.sqs_triggers:
                url = self.deployment.physical_id(trigger.queue_logical_id)
                messages = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=min(10, trigger.batch_size), AttributeNames=["All"]
                ).get("Messages", [])
                if not messages:
                    continue
                progressed = True
                failed = executions.invoke_queue_batch(
                    self.invoke,
                    trigger.function_logical_id,
                    [self._sqs_record(m, trigger.queue_logical_id) for m in messages],
                    (m["MessageId"] for m in messages),
                )
                for message in messages:
                    if message["MessageId"] not in failed:
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                        delivered += 1
            if not progressed:
                break
        return delivered

    def _sqs_record(self, message: dict[str, Any], queue_logical_id: str) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.deployment.arn(queue_logical_id),
            "awsRegion": self.region,
        }

    # -- Step Functions ------------------------------------------------------------------------
    def start_execution(
        self, state_machine_logical_id: str, input: Any = None, *, name: str | None = None
    ) -> str:
        arguments: dict[str, Any] = {
            "stateMachineArn": self.deployment.arn(state_machine_logical_id),
            "input": json.dumps(input if input is not None else {}),
        }
        if name:
            arguments["name"] = name
        return str(self.client("stepfunctions").start_execution(**arguments)["executionArn"])

    def _state_machine_by_arn(self) -> dict[str, str]:
        return {self.deployment.arn(lid): lid for lid in self.deployment.state_machine_logical_ids()}

    def describe_execution(self, execution_arn: str) -> ExecutionSummary:
        description = self.client("stepfunctions").describe_execution(executionArn=execution_arn)
        machines = self._state_machine_by_arn()
        start, stop = description.get("startDate"), description.get("stopDate")
        return ExecutionSummary(
            execution_arn=execution_arn,
            state_machine=machines.get(description["stateMachineArn"], description["stateMachineArn"]),
            name=description.get("name", ""),
            status=description["status"],
            start=executions.iso(start),
            stop=executions.iso(stop) if stop else None,
            duration_ms=executions.duration_ms(start, stop),
            input=json_or_text(description.get("input")),
            output=json_or_text(description.get("output")),
            error=description.get("error"),
            cause=description.get("cause"),
        )

    def _execution_arns(self) -> Iterator[str]:
        sfn = self.client("stepfunctions")
        for logical_id in self.deployment.state_machine_logical_ids():
            paginator = sfn.get_paginator("list_executions")
            for page in paginator.paginate(stateMachineArn=self.deployment.arn(logical_id)):
                for execution in page["executions"]:
                    yield execution["executionArn"]

    def list_executions(self) -> list[ExecutionSummary]:
        """Every execution of every state machine, oldest first."""
        summaries = [self.describe_execution(arn) for arn in self._execution_arns()]
        return sorted(summaries, key=lambda s: s.start)

    def wait_for_executions(
        self, timeout: float = 120.0, poll_interval: float = 0.05
    ) -> list[ExecutionSummary]:
        """Poll until no execution of any state machine is RUNNING (new ones started meanwhile count).

        The interval starts at ``poll_interval`` and doubles up to ``MAX_POLL_INTERVAL`` while
        executions run (each poll lists and describes them through boto3: CPU the executions need)."""
        deadline = time.monotonic() + timeout
        finished = self._finished_executions
        interval = poll_interval
        while True:
            running = []
            arns = list(self._execution_arns())
            for arn in arns:
                if arn not in finished:
                    summary = self.describe_execution(arn)
                    if summary.status == "RUNNING":
                        running.append(summary)
                    else:
                        finished[arn] = summary
            if not running:
                return sorted((finished[arn] for arn in arns), key=lambda s: s.start)
            if time.monotonic() >= deadline:
                names = ", ".join(f"{s.state_machine}/{s.name}" for s in running)
                raise executions.ExecutionsTimeoutError(
                    f"{len(running)} execution(s) still RUNNING after {timeout:g}s: {names}. "
                    "Retry intervals are real sleeps unless fast_retries=True."
                )
            time.sleep(interval)
            interval = min(max(interval, poll_interval) * 2, MAX_POLL_INTERVAL)

    def raw_history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        paginator = sfn.get_paginator("get_execution_history")
        # 1,000 events per page (the API's maximum): a Map of many clinics has thousands of events
        for page in paginator.paginate(executionArn=execution_arn, PaginationConfig={"PageSize": 1000}):
            events.extend(page["events"])
        return events

    def execution_history(self, execution_arn: str) -> list[executions.HistoryRow]:
        status = self.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"]
        return executions.summarise_history(self.raw_history(execution_arn), status)
