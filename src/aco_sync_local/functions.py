"""The template's Lambda functions, in this process: a registry of handlers by function name.

``register_function_code(name, code_dir, handler)`` records where a function's handler lives (its
``CodeUri`` folder and ``Handler``); ``invoke_in_process`` runs it on an event with a fake Lambda
context. Each ``app.py`` is loaded once, under a unique module name (every function has its own
``app.py``). A raised exception becomes the payload the Python Lambda runtime returns (``errorType`` =
the exception's class name, ``errorMessage``, ``stackTrace``), so the ASL's Retry/Catch see the error
names they see on AWS.

One invocation at a time per function *in one process*, like one warm Lambda container: the handlers
keep module state (Powertools' Logger keys, which ``inject_lambda_context(clear_state=True)`` clears
at every invocation; the Tracer's segments), which threads sharing the module would race on. The
local Step Functions interpreter therefore runs the iterations of a Map in worker *processes*
(``aco_sync_local.stepfunctions.workers``): each worker is one container with its own module state, as
on AWS, so clinics run in parallel without sharing anything but the state file and the bucket folder.

Neither this module nor the interpreter imports moto or botocore; ``aco_sync_local.moto_patches`` uses
the same registry for moto's Lambda backend (the test suite's cross-check).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FunctionCode:
    """Where a function's handler lives on disk."""

    code_dir: Path
    handler: str  # "app.lambda_handler" or "package.module.function"


@dataclass
class FakeLambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    timeout_seconds: int = 900
    _started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if not self.log_group_name:
            self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = int((time.monotonic() - self._started) * 1000)
        return max(0, self.timeout_seconds * 1000 - elapsed_ms)


# One in-process invocation at a time per function (see the module docstring); re-entrant.
_function_locks: dict[str, threading.RLock] = {}
_function_locks_guard = threading.Lock()
INVOCATION_LOCK_TIMEOUT_SECONDS = 900.0


def _function_lock(function_name: str) -> threading.RLock:
    with _function_locks_guard:
        return _function_locks.setdefault(function_name, threading.RLock())


_function_code: dict[str, FunctionCode] = {}
_handler_modules: dict[FunctionCode, ModuleType] = {}
_module_lock = threading.Lock()


_invocation_listeners: list[Any] = []


def add_invocation_listener(listener: Any) -> None:
    """Call ``listener(function_name, event)`` when an in-process invocation starts (progress display).
    A listener must be quick and must not raise; remove it with :func:`remove_invocation_listener`."""
    _invocation_listeners.append(listener)


def remove_invocation_listener(listener: Any) -> None:
    if listener in _invocation_listeners:
        _invocation_listeners.remove(listener)


def notify_invocation(function_name: str, event: Any) -> None:
    """Tell the invocation listeners that ``function_name`` starts on ``event`` (also called for an
    invocation handed to a worker process, whose listeners are not this process's)."""
    for listener in list(_invocation_listeners):
        try:
            listener(function_name, event)
        except Exception:  # a progress display never breaks a sync
            logger.debug("Invocation listener failed", exc_info=True)


def register_function_code(function_name: str, code_dir: Path, handler: str) -> None:
    """Make invocations of the moto Lambda ``function_name`` run ``handler`` from ``code_dir``."""
    _function_code[function_name] = FunctionCode(Path(code_dir).resolve(), handler)


def _load_handler(code: FunctionCode) -> Any:
    module_path, _, attribute = code.handler.rpartition(".")
    if not module_path or not attribute:
        raise ValueError(f"Handler {code.handler!r} must look like 'module.function'")
    with _module_lock:
        module = _handler_modules.get(code)
        if module is None:
            source = code.code_dir.joinpath(*module_path.split(".")).with_suffix(".py")
            if not source.is_file():
                raise FileNotFoundError(f"Handler module {source} (Handler {code.handler!r}) does not exist")
            # A unique module name per function: every function has its own app.py.
            unique_name = "aco_sync_local_fn_" + re.sub(r"\W", "_", f"{code.code_dir.name}_{module_path}")
            unique_name += "_" + uuid.uuid5(uuid.NAMESPACE_URL, str(source)).hex[:8]
            spec = importlib.util.spec_from_file_location(unique_name, source)
            if spec is None or spec.loader is None:
                raise ImportError(f"Cannot load handler module {source}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[unique_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(unique_name, None)
                raise
            _handler_modules[code] = module
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise AttributeError(f"Handler {code.handler!r}: {attribute!r} is not a function of {module_path}")
    return handler


def _error_payload(exc: BaseException) -> bytes:
    """The payload the Python Lambda runtime returns for an unhandled exception."""
    payload = {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }
    return json.dumps(payload).encode("utf-8")


def invoke_in_process(function_name: str, function_arn: str, body: Any) -> tuple[bytes, bool]:
    """Run the registered handler of ``function_name`` on ``body``; returns (payload, errored)."""
    code = _function_code[function_name]
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    try:
        event = json.loads(body) if body else {}
    except json.JSONDecodeError:
        event = body
    lock = _function_lock(function_name)
    if not lock.acquire(timeout=INVOCATION_LOCK_TIMEOUT_SECONDS):
        message = (
            f"{function_name} waited {INVOCATION_LOCK_TIMEOUT_SECONDS:g}s for its previous invocation to end"
        )
        return _error_payload(TimeoutError(message)), True
    try:
        notify_invocation(function_name, event)
        context = FakeLambdaContext(function_name=function_name, invoked_function_arn=function_arn)
        handler = _load_handler(code)
        result = handler(event, context)
        return json.dumps(result, default=str).encode("utf-8"), False
    except Exception as exc:
        logger.debug("Function %s raised %s", function_name, type(exc).__name__)
        return _error_payload(exc), True
    finally:
        lock.release()


class _Subsegment:
    """What the handlers' Tracer writes to a subsegment, dropped (no X-Ray daemon locally)."""

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any = None, remote: bool = False) -> None:
        pass


class LocalTraceProvider:
    """A Powertools tracing provider that records nothing. Locally there is no X-Ray daemon, and the
    default provider (the X-Ray SDK's recorder) builds a botocore X-Ray client when a handler module
    is imported (~1-2 s and botocore's service model): ``use_local_tracing`` installs this one instead,
    with tracing disabled, before the handlers are imported."""

    @contextlib.contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[_Subsegment]:
        yield _Subsegment()

    @contextlib.asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncIterator[_Subsegment]:
        yield _Subsegment()

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Any) -> None:
        pass

    def patch_all(self) -> None:
        pass


def use_local_tracing() -> None:
    """Tracing off for the in-process handlers, through a provider that imports no AWS SDK (Powertools
    keeps the provider of the first Tracer for every later one)."""
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    from aws_lambda_powertools.tracing.tracer import Tracer

    config = Tracer._config  # Powertools' shared Tracer configuration (class attribute)
    if config.get("provider") is None:
        config["provider"] = LocalTraceProvider()


def registered_function(function_name: str) -> FunctionCode | None:
    return _function_code.get(function_name)


def preload_handlers(function_names: list[str]) -> None:
    """Import the handler modules of ``function_names`` now (before worker processes fork, so each
    worker starts warm, like a provisioned container)."""
    for name in function_names:
        _load_handler(_function_code[name])


_execution_start_hooks: list[Any] = []


def add_execution_start_hook(hook: Any) -> None:
    """Call ``hook(execution_arn)`` for every execution started in this process, before it runs (the
    local runner records in the state file which process runs it; see aco_sync.adapters.local_workflows)."""
    _execution_start_hooks.append(hook)


def remove_execution_start_hook(hook: Any) -> None:
    if hook in _execution_start_hooks:
        _execution_start_hooks.remove(hook)


def execution_start_hooks() -> list[Any]:
    return list(_execution_start_hooks)
