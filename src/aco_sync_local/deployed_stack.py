"""Read the latest sync of an ACO from a deployed stack (``aco-sync status|history --stack NAME``).

The stack's outputs name the table, bucket and state machines (``SyncStateTableName``,
``DataBucketName``, ``AcoSyncStateMachineArn``, ``McqmSyncStateMachineArn``); the sync status view is
the same ``latest_sync_status`` the local runner uses, and the execution histories come from Step
Functions. Credentials and region come from the usual boto3 configuration (or ``--region``).
"""

from __future__ import annotations

from typing import Any

import boto3

from aco_sync_local.local_aws import duration_ms, iso, json_or_text, summarise_history
from aco_sync_local.runner import LocalRunError, LocalSyncResult

TABLE_OUTPUT = "SyncStateTableName"
BUCKET_OUTPUT = "DataBucketName"
STATE_MACHINE_OUTPUTS = {
    "AcoSyncStateMachineArn": "AcoSyncStateMachine",
    "McqmSyncStateMachineArn": "McqmSyncStateMachine",
}


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


def load_stack_sync(
    stack_name: str, aco_id: str | None, *, session: boto3.Session | None = None
) -> LocalSyncResult:
    """The ACO's latest sync in the deployed stack, with the execution histories of that sync."""
    from aco_sync.adapters.environment import RuntimeSettings, build_stores
    from aco_sync.service.common import configured_aco_ids
    from aco_sync.service.status import latest_sync_status

    session = session or boto3.Session()
    outputs = stack_outputs(stack_name, session)
    stores = build_stores(
        RuntimeSettings(table_name=outputs[TABLE_OUTPUT], bucket_name=outputs[BUCKET_OUTPUT])
    )
    if not aco_id:
        configured = configured_aco_ids(stores.objects)
        if len(configured) != 1:
            raise LocalRunError(
                f"Stack {stack_name} configures {len(configured)} ACOs ({', '.join(configured) or 'none'}); "
                "choose one with --aco"
            )
        aco_id = configured[0]
    status = latest_sync_status(aco_id, store=stores)
    sync = status.get("sync") or {}
    executions = [_execution(session, arn, outputs) for arn in _sync_execution_arns(session, sync, outputs)]
    return LocalSyncResult(
        aco_id=aco_id,
        folder=f"stack {stack_name}",
        started_at=str(sync.get("started") or ""),
        finished_at=str(sync.get("finished") or ""),
        started=[],
        executions=executions,
        status=status,
    )


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
