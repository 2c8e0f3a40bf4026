"""``LocalStack``: the ACO Sync stack in this process, with no AWS library: the local runner's engine.

    with LocalStack(state_dir=Path(".aco-sync")) as stack:    # reads <repo>/template.yaml
        stack.put_object("config/acos/A1.json", b"...")
        arn = stack.start_execution("AcoSyncStateMachine", {"aco_id": "A1"})
        stack.wait_for_executions(timeout=120)
        rows = stack.execution_history(arn)

template.yaml's functions become an in-process registry (handler by logical id, environment resolved
from the template: ``deployer.plan_stack``); its state machines run on the local Step Functions
interpreter (``aco_sync_local.stepfunctions``), which runs the real ASL; the clinic-stats queue is an
in-process queue delivered to its SQS-triggered function by ``drain_queues``; the sync state is the
state folder's SQLite file and its ``bucket/`` folder (``aco_sync.adapters.environment.build_stores``
with ``ACO_SYNC_LOCAL_STATE_DIR``). Neither moto nor botocore is imported.

The Lambda invocations of a Map's iterations run in worker processes (forked once, when the stack
starts, with every handler already imported), up to the Map's MaxConcurrency: each worker is one warm
"container" serving one invocation at a time, as on AWS, so the clinics of a sync really run in
parallel on the machine's cores. ``workers=0`` (or ``ACO_SYNC_LOCAL_WORKERS=0``) runs them in this
process instead, one invocation at a time per function.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import itertools
import json
import logging
import multiprocessing
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Mapping
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any, Unpack

from aco_sync.adapters.environment import BUCKET_DIR, LOCAL_STATE_DIR_VARIABLE
from aco_sync.adapters.filesystem import FilesystemObjectStore
from aco_sync.adapters.local_workflows import in_process_workflows, use_in_process_workflows
from aco_sync_local.deployer import (
    BUCKET,
    FunctionSpec,
    LocalDeployment,
    StackPlan,
    plan_stack,
)
from aco_sync_local.executions import (
    ExecutionsTimeoutError,
    ExecutionSummary,
    HistoryRow,
    LocalFunctionError,
    duration_ms,
    invoke_queue_batch,
    iso,
    summarise_history,
)
from aco_sync_local.functions import (
    execution_start_hooks,
    invoke_in_process,
    notify_invocation,
    preload_handlers,
    use_local_tracing,
)
from aco_sync_local.stack_environment import (
    SavedEnvironment,
    StackOptions,
    StartedStack,
    region_environment,
)
from aco_sync_local.stepfunctions.interpreter import Execution, LocalStepFunctions, Services

logger = logging.getLogger(__name__)

WORKERS_VARIABLE = "ACO_SYNC_LOCAL_WORKERS"
MAX_RECEIVES = 3  # a message whose handler keeps failing is dropped (the DLQ's redrive count on AWS)


def default_workers() -> int:
    configured = os.environ.get(WORKERS_VARIABLE, "")
    if configured.isdigit():
        return int(configured)
    return min(os.cpu_count() or 1, 4)


class InProcessQueue:
    """The template's SQS queues, in memory: what the ASL's ``sqs:sendMessage`` Tasks and the handlers'
    ``Queue.send`` put there, ``LocalStack.drain_queues`` delivers to the queue's function."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, list[dict[str, Any]]] = {}

    def send(self, queue_url: str, message: Mapping[str, Any]) -> None:
        self.send_body(queue_url, dict(message))

    def send_body(self, queue_url: str, body: Any) -> str:
        message_id = str(uuid.uuid4())
        text = body if isinstance(body, str) else json.dumps(body)
        with self._lock:
            self._messages.setdefault(queue_url, []).append({"id": message_id, "body": text, "receives": 0})
        return message_id

    def receive(self, queue_url: str, count: int) -> list[dict[str, Any]]:
        with self._lock:
            queue = self._messages.get(queue_url, [])
            taken, self._messages[queue_url] = queue[:count], queue[count:]
        for message in taken:
            message["receives"] += 1
        return taken

    def give_back(self, queue_url: str, messages: list[dict[str, Any]]) -> None:
        with self._lock:
            self._messages.setdefault(queue_url, []).extend(messages)

    def pending(self, queue_url: str) -> int:
        with self._lock:
            return len(self._messages.get(queue_url, []))


class _InProcessWorkflows:
    """The ``WorkflowStarter`` port over the local interpreter (start-sync, roster ingest, the lock)."""

    def __init__(self, sfn: LocalStepFunctions) -> None:
        self._sfn = sfn

    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str:
        return self._sfn.start_execution(state_machine_arn, dict(payload), name)

    def execution_status(self, execution_arn: str) -> str | None:
        execution = self._sfn.describe(execution_arn)
        return execution.status if execution is not None else None


# -- worker processes ----------------------------------------------------------------------------


def _worker_init() -> None:
    global _released_at
    _released_at = _resident_mb()
    # a worker runs Map iterations only: it starts no execution and sends no message itself
    use_in_process_workflows(None)
    # a fresh stderr (warnings go there): the parent's may have been locked by another thread (the
    # progress display) at the moment of the fork
    sys.stderr = os.fdopen(os.dup(2), "w", buffering=1)


def _worker_invoke(name: str, arn: str, body: str) -> tuple[bytes, bool]:
    try:
        return invoke_in_process(name, arn, body)
    finally:
        _release_memory()


def _release_memory() -> None:
    """What an invocation freed goes back to the system before the worker serves the next one (a worker
    serves every function in turn, where AWS gives each function its own containers: without this, the
    heap one engine partition left behind stays in the worker under the next one's). Only once the
    worker has grown by ``RELEASE_AFTER_GROWTH_MB`` since it started or last released: a full collection
    after each of thousands of small clinic invocations would cost more than it gives back, and the
    worker's heap inherited from the parent at the fork is not growth."""
    global _released_at
    resident = _resident_mb()
    if (
        resident is not None
        and _released_at is not None
        and resident < _released_at + RELEASE_AFTER_GROWTH_MB
    ):
        return
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
    _released_at = _resident_mb()


RELEASE_AFTER_GROWTH_MB = 300  # an engine partition of 500,000 records holds ~0.7 GB more than a clinic
_released_at: float | None = None  # this worker's resident MB at its start or its last release


def _resident_mb() -> float | None:
    """This process's resident memory now (Linux's /proc), or None where that cannot be read."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None  # glibc only (not musl, not macOS)


_LIBC = _libc()


class LocalStack(StartedStack):
    """The template's functions, state machines and queues in this process (context manager)."""

    def __init__(
        self,
        template_path: Path | None = None,
        *,
        state_dir: Path,
        workers: int | None = None,
        **options: Unpack[StackOptions],
    ) -> None:
        super().__init__(template_path, **options)
        self.state_dir = Path(state_dir).resolve()
        self.workers = default_workers() if workers is None else workers
        self._plan: StackPlan | None = None
        self._functions_by_arn: dict[str, FunctionSpec] = {}  # by ARN and by name (what a Task names)
        self._sfn: LocalStepFunctions | None = None
        self._pool: Pool | None = None
        self._env = SavedEnvironment()
        self._saved_services: Any = None
        self._retry_wakeup = threading.Event()
        self.queue = InProcessQueue()
        self.objects = FilesystemObjectStore(self.state_dir / BUCKET_DIR)

    # -- lifecycle -------------------------------------------------------------------------------
    def _start(self) -> None:
        self._plan = plan_stack(
            self.template_path,
            stack_name=self.stack_name,
            region=self.region,
            parameter_overrides=self.parameter_overrides,
        )
        self._functions_by_arn = {
            key: spec for spec in self._plan.functions.values() for key in (spec.arn, spec.name)
        }
        self._env.set(region_environment(self.region))
        self._env.set(
            {
                **self.deployment.combined_environment(),
                LOCAL_STATE_DIR_VARIABLE: str(self.state_dir),
                **self.env_overrides,
            }
        )
        machines = {
            self.deployment.arn(lid): definition for lid, definition in self._plan.state_machines.items()
        }
        self._sfn = LocalStepFunctions(
            machines,
            Services(
                invoke_lambda=self._invoke_for_task,
                send_message=self.queue.send_body,
                read_object=self._read_object,
                sleep=self._retry_sleep,
            ),
            region=self.region,
            account_id=self.deployment.account_id,
            on_start=self._on_start,
        )
        self._env.set({"POWERTOOLS_TRACE_DISABLED": os.environ.get("POWERTOOLS_TRACE_DISABLED", "true")})
        use_local_tracing()  # before any handler is imported: no X-Ray client locally
        self._saved_services = in_process_workflows()
        use_in_process_workflows(_InProcessWorkflows(self._sfn))
        if self.workers > 0:
            preload_handlers(
                [f.name for f in self._plan.functions.values()]
            )  # imported once, before the fork: every worker starts warm
            self._pool = multiprocessing.get_context("fork").Pool(self.workers, initializer=_worker_init)

    def _stop(self) -> None:
        if self._sfn is not None:
            self.fast_retries = True  # executions waiting to retry go on now
            self._retry_wakeup.set()
            still = self._sfn.wait(30)
            if still:
                logger.warning("Stopping the local stack while %d executions still run", len(still))
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        if self._sfn is not None:
            use_in_process_workflows(self._saved_services)
            self._sfn = None
        self._env.restore()

    def _on_start(self, execution_arn: str) -> None:
        for hook in execution_start_hooks():
            hook(execution_arn)

    def _retry_sleep(self, seconds: float) -> None:
        if not self.fast_retries:
            self._retry_wakeup.wait(seconds)

    def set_fast_retries(self, enabled: bool) -> None:
        self.fast_retries = enabled
        if enabled:
            self._retry_wakeup.set()

    # -- access ----------------------------------------------------------------------------------
    @property
    def deployment(self) -> LocalDeployment:
        if self._plan is None:
            raise RuntimeError("LocalStack is not started: use it as a context manager")
        return self._plan.deployment

    @property
    def sfn(self) -> LocalStepFunctions:
        if self._sfn is None:
            raise RuntimeError("LocalStack is not started: use it as a context manager")
        return self._sfn

    def bucket_name(self, bucket_logical_id: str | None = None) -> str:
        candidates = [bucket_logical_id] if bucket_logical_id else self.deployment.logical_ids(BUCKET)
        if len(candidates) != 1:
            raise ValueError(f"The template has {len(candidates)} buckets; name one: {candidates}")
        return self.deployment.physical_id(candidates[0])

    def _read_object(self, bucket: str, key: str) -> bytes:
        if bucket != self.bucket_name():
            raise KeyError(f"No bucket {bucket} locally")
        return self.objects.get(key)

    # -- the bucket (the state folder's bucket/) ---------------------------------------------------
    def put_object(self, key: str, body: str | bytes) -> None:
        self.objects.put(key, body.encode("utf-8") if isinstance(body, str) else body)

    def upload_folder(self, folder: Path, *, prefix: str = "") -> list[str]:
        """Copy every file under ``folder`` into the bucket; the relative path becomes the key."""
        folder = Path(folder)
        if not folder.is_dir():
            raise NotADirectoryError(f"Not a folder: {folder}")
        keys = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder)
            if any(part.startswith(".") for part in relative.parts):
                continue
            key = prefix + relative.as_posix()
            self.objects.put(key, path.read_bytes())
            keys.append(key)
        return keys

    def list_keys(self, prefix: str = "") -> list[str]:
        return self.objects.list_keys(prefix)

    def download_prefix(self, prefix: str, dest: Path) -> list[Path]:
        dest = Path(dest)
        written = []
        for key in self.list_keys(prefix):
            relative = key[len(prefix) :].lstrip("/")
            if not relative:
                continue
            target = (dest / relative).resolve()
            if not target.is_relative_to(dest.resolve()):
                raise ValueError(f"Refusing to write {key!r} outside {dest}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.objects.path_of(key), target)
            written.append(target)
        return written

    # -- Lambda ----------------------------------------------------------------------------------
    def _function_by_arn(self, function_arn: str) -> tuple[str, str]:
        spec = self._functions_by_arn.get(function_arn)
        if spec is None:
            raise KeyError(f"No function {function_arn} in {self.template_path}")
        return spec.name, spec.arn

    def _invoke_for_task(self, function_arn: str, event: Any, in_map: bool) -> tuple[bytes, bool]:
        name, arn = self._function_by_arn(function_arn)
        body = json.dumps(event)
        if in_map and self._pool is not None:
            notify_invocation(name, event)
            return self._pool.apply(_worker_invoke, (name, arn, body))
        return invoke_in_process(name, arn, body)

    def invoke(self, function_logical_id: str, event: Any) -> Any:
        """Invoke a function synchronously; returns its result or raises ``LocalFunctionError``."""
        spec = self._plan.functions[function_logical_id] if self._plan else None
        if spec is None:
            raise KeyError(function_logical_id)
        payload, errored = invoke_in_process(spec.name, spec.arn, json.dumps(event))
        result = json.loads(payload.decode("utf-8"))
        if errored:
            raise LocalFunctionError(
                function_logical_id, str(result.get("errorType")), str(result.get("errorMessage"))
            )
        return result

    def drain_queues(self, *, max_rounds: int = 20) -> int:
        """Deliver the messages of every SQS-triggered function's queue to the function (the event
        source mapping on AWS). A message whose handler fails (or is reported in ``batchItemFailures``)
        goes back to the queue, up to ``MAX_RECEIVES`` receives. Returns the messages delivered."""
        delivered = 0
        for _ in range(max_rounds):
            progressed = False
            for trigger in self.deployment.sqs_triggers:
                url = self.deployment.physical_id(trigger.queue_logical_id)
                messages = self.queue.receive(url, min(10, trigger.batch_size))
                if not messages:
                    continue
                progressed = True
                records = [
                    {
                        "messageId": m["id"],
                        "receiptHandle": m["id"],
                        "body": m["body"],
                        "attributes": {"ApproximateReceiveCount": str(m["receives"])},
                        "messageAttributes": {},
                        "md5OfBody": "",
                        "eventSource": "aws:sqs",
                        "eventSourceARN": self.deployment.arn(trigger.queue_logical_id),
                        "awsRegion": self.region,
                    }
                    for m in messages
                ]
                failed = invoke_queue_batch(
                    self.invoke, trigger.function_logical_id, records, (m["id"] for m in messages)
                )
                retry = [m for m in messages if m["id"] in failed and m["receives"] < MAX_RECEIVES]
                self.queue.give_back(url, retry)
                delivered += len(messages) - len([m for m in messages if m["id"] in failed])
            if not progressed:
                break
        return delivered

    # -- Step Functions --------------------------------------------------------------------------
    def start_execution(
        self, state_machine_logical_id: str, input: Any = None, *, name: str | None = None
    ) -> str:
        return self.sfn.start_execution(self.deployment.arn(state_machine_logical_id), input, name)

    def _summary(self, execution: Execution) -> ExecutionSummary:
        machines = {self.deployment.arn(lid): lid for lid in self.deployment.state_machine_logical_ids()}
        return ExecutionSummary(
            execution_arn=execution.arn,
            state_machine=machines.get(execution.state_machine_arn, execution.state_machine_arn),
            name=execution.name,
            status=execution.status,
            start=iso(execution.start),
            stop=iso(execution.stop) if execution.stop else None,
            duration_ms=duration_ms(execution.start, execution.stop),
            input=execution.input,
            output=execution.output,
            error=execution.error,
            cause=execution.cause,
        )

    def describe_execution(self, execution_arn: str) -> ExecutionSummary:
        execution = self.sfn.describe(execution_arn)
        if execution is None:
            raise KeyError(f"Execution does not exist: {execution_arn}")
        return self._summary(execution)

    def list_executions(self) -> list[ExecutionSummary]:
        """Every execution of every state machine (not the child executions of a Map run), oldest first."""
        return [self._summary(e) for e in self.sfn.top_level_executions()]

    def wait_for_executions(
        self, timeout: float = 120.0, poll_interval: float = 0.05
    ) -> list[ExecutionSummary]:
        still = self.sfn.wait(timeout)
        if still:
            names = ", ".join(e.name for e in still if e.parent is None)
            raise ExecutionsTimeoutError(
                f"{len(still)} execution(s) still RUNNING after {timeout:g}s: {names}. "
                "Retry intervals are real sleeps unless fast_retries=True."
            )
        return self.list_executions()

    def raw_history(self, execution_arn: str) -> list[dict[str, Any]]:
        execution = self.sfn.describe(execution_arn)
        if execution is None:
            raise KeyError(f"Execution does not exist: {execution_arn}")
        with execution.lock:
            return [dict(e) for e in execution.events]

    def child_executions(self, execution_arn: str) -> list[str]:
        """The child executions of the execution's distributed Map runs, in item order."""
        execution = self.sfn.describe(execution_arn)
        return (
            list(itertools.chain.from_iterable(r.children for r in execution.map_runs)) if execution else []
        )

    def execution_history(self, execution_arn: str) -> list[HistoryRow]:
        """The console-style rows of the execution; a distributed Map's child executions are shown
        inside it (one iteration per child, indented), as the console's Map Run page lists them."""
        execution = self.sfn.describe(execution_arn)
        if execution is None:
            raise KeyError(f"Execution does not exist: {execution_arn}")
        rows = summarise_history(self.raw_history(execution_arn), execution.status)
        for run in reversed(execution.map_runs):
            at = next(
                (i for i, r in enumerate(rows) if r.state == run.state and r.type == "Map"), len(rows) - 1
            )
            depth = rows[at].depth + 1 if rows else 1
            nested: list[HistoryRow] = []
            for index, child_arn in enumerate(run.children):
                child = self.sfn.describe(child_arn)
                if child is None:
                    continue
                for row in summarise_history(self.raw_history(child_arn), child.status):
                    nested.append(
                        HistoryRow(
                            **{
                                **row.to_dict(),
                                "iteration": row.iteration if row.depth else index,
                                "depth": row.depth + depth,
                            }
                        )
                    )
            rows[at + 1 : at + 1] = nested
        return rows
