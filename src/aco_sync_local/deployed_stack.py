"""Read the latest sync of an ACO from a deployed stack (``aco-sync status|history --stack NAME``).

The stack's outputs name the table, bucket and state machines (``SyncStateTableName``,
``DataBucketName``, ``AcoSyncStateMachineArn``, ``McqmSyncStateMachineArn``); the sync status view is
the same ``latest_sync_status`` the local runner uses, and the execution histories come from Step
Functions. ``aco-sync report --stack NAME`` downloads the latest sync's ``results/<aco_id>/<sync_id>/``
from the data bucket. Credentials and region come from the usual boto3 configuration (or ``--region``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from aco_sync_local.executions import duration_ms, iso, json_or_text, summarise_history
from aco_sync_local.private_files import private_files
from aco_sync_local.runner import DEFAULT_STATE_DIR, LocalRunError, LocalSyncResult

if TYPE_CHECKING:
    from aco_sync.adapters.environment import Stores

logger = logging.getLogger(__name__)

TABLE_OUTPUT = "SyncStateTableName"
BUCKET_OUTPUT = "DataBucketName"
STATE_MACHINE_OUTPUTS = {
    "AcoSyncStateMachineArn": "AcoSyncStateMachine",
    "McqmSyncStateMachineArn": "McqmSyncStateMachine",
}
STACK_RESULTS_DIR = DEFAULT_STATE_DIR / "stack-results"  # + <aco_id>/<sync_id>/
REPORT_FILE = "report.html"
QUALITY_SCORE_FILE = "quality-score.json"


def stack_outputs(stack_name: str, session: boto3.Session) -> dict[str, str]:
    cloudformation = session.client("cloudformation")
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as exc:  # botocore ClientError (stack missing) or no credentials
        raise LocalRunError(f"Cannot read stack {stack_name}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = [name for name in (TABLE_OUTPUT, BUCKET_OUTPUT) if name not in outputs]
    if missing:
        raise LocalRunError(
            f"Stack {stack_name} has no output {', '.join(missing)} (is it an ACO Sync stack?)"
        )
    return outputs


@dataclass
class StackSyncStatus:
    """The ACO's latest sync as the deployed stack's table records it."""

    stack_name: str
    aco_id: str
    outputs: dict[str, str]
    stores: Stores
    status: dict[str, Any]  # aco_sync.service.status.latest_sync_status(aco_id)

    @property
    def sync(self) -> dict[str, Any]:
        sync = self.status.get("sync")
        return sync if isinstance(sync, dict) else {}


def read_stack_status(stack_name: str, aco_id: str | None, session: boto3.Session) -> StackSyncStatus:
    """The stack's outputs, its stores and the ACO's ``latest_sync_status`` (``aco_id`` None: the only
    configured ACO). AWS errors become a ``LocalRunError``."""
    from aco_sync.domain.errors import AcoSyncError
    from aco_sync.service.common import configured_aco_ids
    from aco_sync.service.status import latest_sync_status

    outputs = stack_outputs(stack_name, session)
    stores = _stack_stores(outputs, session)
    try:
        if not aco_id:
            configured = configured_aco_ids(stores.objects)
            if len(configured) != 1:
                raise LocalRunError(
                    f"Stack {stack_name} configures {len(configured)} ACOs "
                    f"({', '.join(configured) or 'none'}); choose one with --aco"
                )
            aco_id = configured[0]
        status = latest_sync_status(aco_id, store=stores)
    except (ClientError, BotoCoreError, AcoSyncError) as exc:
        raise LocalRunError(f"Cannot read the sync state of stack {stack_name}: {exc}") from exc
    return StackSyncStatus(stack_name, aco_id, outputs, stores, status)


def _stack_stores(outputs: dict[str, str], session: boto3.Session) -> Stores:
    """The stack's bucket and table through ``session`` (its region and credentials, not the
    environment's)."""
    from aco_sync.adapters.aws import DynamoDbSyncStateStore, S3ObjectStore
    from aco_sync.adapters.environment import RuntimeSettings, build_stores

    stores = build_stores(
        RuntimeSettings(table_name=outputs[TABLE_OUTPUT], bucket_name=outputs[BUCKET_OUTPUT])
    )
    stores.objects = S3ObjectStore(outputs[BUCKET_OUTPUT], client=session.client("s3"))
    make_resource = getattr(session, "resource", None)  # test doubles of the session may only make clients
    if make_resource is not None:
        stores.state = DynamoDbSyncStateStore(outputs[TABLE_OUTPUT], resource=make_resource("dynamodb"))
    return stores


def load_stack_sync(
    stack_name: str, aco_id: str | None, *, session: boto3.Session | None = None
) -> LocalSyncResult:
    """The ACO's latest sync in the deployed stack, with the execution histories of that sync."""
    session = session or boto3.Session()
    stack = read_stack_status(stack_name, aco_id, session)
    outputs = stack.outputs
    arns = _sync_execution_arns(session, stack.sync, outputs)
    return _sync_result(stack, stack_name, [_execution(session, arn, outputs) for arn in arns])


def _sync_result(
    stack: StackSyncStatus, stack_name: str, executions: list[dict[str, Any]], **results: Any
) -> LocalSyncResult:
    """The stack's latest sync as the runner shows a sync (``results``: where its files were downloaded)."""
    return LocalSyncResult(
        aco_id=stack.aco_id,
        folder=f"stack {stack_name}",
        started_at=str(stack.sync.get("started") or ""),
        finished_at=str(stack.sync.get("finished") or ""),
        started=[],
        executions=executions,
        status=stack.status,
        **results,
    )


def download_stack_results(
    stack_name: str,
    aco_id: str | None,
    *,
    out_dir: Path | None = None,
    session: boto3.Session | None = None,
) -> LocalSyncResult:
    """Download the files of the ACO's latest sync (``results/<aco_id>/<sync_id>/`` in the data bucket)
    into ``out_dir`` (default ``.aco-sync/stack-results/<aco_id>/<sync_id>/``). The result carries
    ``results_dir``, ``report_html`` and the parsed ``quality-score.json``. ``LocalRunError`` when the
    ACO has no sync yet or its latest sync wrote no report.html (it failed, or still runs)."""
    from aco_sync.adapters.ports import ObjectNotFoundError
    from aco_sync.domain.errors import AcoSyncError
    from aco_sync.service.common import results_prefix

    session = session or boto3.Session()
    stack = read_stack_status(stack_name, aco_id, session)
    sync = stack.sync
    sync_id = str(sync.get("sync_id") or "")
    if not sync_id:
        raise LocalRunError(f"ACO {stack.aco_id} has no sync in stack {stack_name} yet")
    prefix = str(stack.status.get("results_prefix") or results_prefix(stack.aco_id, sync_id))
    try:
        keys = [k for k in stack.stores.objects.list_keys(prefix) if not k.endswith("/")]
        if prefix + REPORT_FILE not in keys:
            error = f": {sync['error']}" if sync.get("error") else ""
            raise LocalRunError(
                f"the latest sync of ACO {stack.aco_id} in stack {stack_name} ({sync_id}, "
                f"{sync.get('status', '?')}{error}) wrote no {REPORT_FILE} "
                f"(nothing at s3://{stack.outputs[BUCKET_OUTPUT]}/{prefix}{REPORT_FILE})"
            )
        target_dir = Path(out_dir) if out_dir else STACK_RESULTS_DIR / stack.aco_id / sync_id
        with private_files():  # the results hold PHI (patients.csv): 0600 files, 0700 folders
            target_dir.mkdir(parents=True, exist_ok=True)
            for key in keys:
                target = (target_dir / key[len(prefix) :]).resolve()
                if not target.is_relative_to(target_dir.resolve()):
                    raise LocalRunError(f"Refusing to write {key!r} outside {target_dir}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(stack.stores.objects.get(key))
    except (ClientError, BotoCoreError, AcoSyncError, ObjectNotFoundError, OSError) as exc:
        raise LocalRunError(f"Cannot download {prefix} from stack {stack_name}'s bucket: {exc}") from exc
    return _sync_result(
        stack,
        stack_name,
        [],
        results_dir=str(target_dir.resolve()),
        report_html=str((target_dir / REPORT_FILE).resolve()),
        quality_score=_read_quality_score(target_dir / QUALITY_SCORE_FILE),
    )


def _read_quality_score(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        score = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        logger.warning("%s is not valid JSON", path)
        return None
    return score if isinstance(score, dict) else None


def _sync_execution_arns(session: boto3.Session, sync: dict[str, Any], outputs: dict[str, str]) -> list[str]:
    arns = list(sync.get("execution_arns") or [])
    sync_id = sync.get("sync_id")
    if sync_id:  # executions are named after the sync id (the MCQM job may add a suffix)
        sfn = session.client("stepfunctions")
        for output in STATE_MACHINE_OUTPUTS:
            if output not in outputs:
                continue
            paginator = sfn.get_paginator("list_executions")
            for page in paginator.paginate(stateMachineArn=outputs[output]):
                arns.extend(e["executionArn"] for e in page["executions"] if e["name"].startswith(sync_id))
    return list(dict.fromkeys(arns))


def _execution(session: boto3.Session, arn: str, outputs: dict[str, str]) -> dict[str, Any]:
    sfn = session.client("stepfunctions")
    description = sfn.describe_execution(executionArn=arn)
    machines = {outputs[k]: v for k, v in STATE_MACHINE_OUTPUTS.items() if k in outputs}
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    start, stop = description.get("startDate"), description.get("stopDate")
    return {
        "execution_arn": arn,
        "state_machine": machines.get(description["stateMachineArn"], description["stateMachineArn"]),
        "name": description.get("name", ""),
        "status": description["status"],
        "start": iso(start),
        "stop": iso(stop) if stop else None,
        "duration_ms": duration_ms(start, stop),
        "input": json_or_text(description.get("input")),
        "output": json_or_text(description.get("output")),
        "error": description.get("error"),
        "cause": description.get("cause"),
        "history": [row.to_dict() for row in summarise_history(events, description["status"])],
    }
