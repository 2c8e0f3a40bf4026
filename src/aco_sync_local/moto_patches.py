"""Every narrow patch of moto 5.2.5 the local runner needs, in one place.

Each patch is minimal, idempotent (``apply_moto_patches()`` applies them once per process) and
points at the upstream issue or fix. Remove a patch when the pinned moto version contains the fix.

1. In-process Lambda (``LambdaSimpleBackend.invoke``): with ``lambda: {use_docker: False}`` moto only
   echoes the payload. We call the real handler of every function registered with
   :func:`register_function_code` (``CodeUri`` folder + ``Handler``), in this process, with a fake
   context. A raised exception becomes a function error whose payload carries ``errorType`` (the
   exception's class name) and ``errorMessage``, exactly like the Python Lambda runtime, so the ASL's
   ``Retry``/``Catch`` ``ErrorEquals: ["MissingRosterError"]``, ``States.TaskFailed`` and ``States.ALL``
   behave as on AWS. Functions that were not registered keep moto's echo behaviour.
2. ``arn:aws:states:::states:startExecution``: moto 5.2.5 passes the ASL's PascalCase parameters
   (``StateMachineArn``, ``Input``, ``Name``) straight to boto3, whose members are lowerCamel
   (https://github.com/getmoto/moto/issues/10076, fixed by https://github.com/getmoto/moto/pull/10101).
   We convert request and response with moto's own helpers and botocore's service model, as the fix does.
3. ``StartExecution`` without a name: the parser backend builds the ARN from ``name=None`` (ARN ends in
   ``:None``) so a second unnamed execution collides with the first. AWS (and moto's non-parser backend)
   use a UUID; so do we. The same wrapper calls the hooks of :func:`add_execution_start_hook` with the
   execution's ARN before the execution starts (not a moto fix: the local runner's bookkeeping).
4. Retry intervals (``IntervalSeconds`` x ``BackoffRate``) are real ``time.sleep`` calls in moto's
   retrier. :func:`set_fast_retries` makes them instant (tests, the demo), without changing which
   retries happen or how many.

5. Speed, no change of behaviour: a Lambda Task of the ASL interpreter invokes a registered function
   directly (``invoke_in_process``) instead of building a boto3 client per Task and going through
   botocore's serialisation and moto's HTTP-level dispatch (measured: ~35% of a local sync's samples,
   docs/PERFORMANCE.md); the response (``StatusCode``, ``Payload``, ``FunctionError``) is what the
   boto3 path gives. The interpreter's JSONPath expressions are parsed once per distinct path
   (``jsonpath_ng`` parsing was ~7% of the samples), not once per evaluation.

Not a moto bug, but a difference of running in one process: on AWS every invocation has a
single-threaded container to itself, while here moto's Map iterations invoke the same handler on
concurrent threads that share its module state (Powertools' Logger keys, boto3's default session,
moto's backends). That raced under load ("RuntimeError: dictionary changed size during iteration" in
a Map of 40 clinics). So each function serves one invocation at a time, like one warm container (a
re-entrant lock per function); different functions, hence concurrent executions, still run side by
side, so a sync blocked in one step does not block another execution. With the GIL, handlers never
ran in parallel anyway.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from functools import lru_cache
from typing import Any

logger = logging.getLogger(__name__)

_apply_lock = threading.Lock()
_applied = False
_fast_retries = False


# --------------------------------------------------------------------------------------------------
# 1. In-process Lambda
# --------------------------------------------------------------------------------------------------


from aco_sync_local.functions import (  # noqa: E402  (moved: the registry is moto-free)
    FakeLambdaContext,
    FunctionCode,
    _error_payload,
    _function_code,
    _load_handler,
    add_execution_start_hook,
    add_invocation_listener,
    execution_start_hooks,
    invoke_in_process,
    register_function_code,
    remove_execution_start_hook,
    remove_invocation_listener,
)

__all__ = [
    "FakeLambdaContext",
    "FunctionCode",
    "_error_payload",
    "_load_handler",
    "add_execution_start_hook",
    "add_invocation_listener",
    "apply_moto_patches",
    "fast_retries_enabled",
    "invoke_in_process",
    "register_function_code",
    "remove_execution_start_hook",
    "remove_invocation_listener",
    "set_fast_retries",
]


def _patch_lambda_invoke() -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original_invoke = LambdaSimpleBackend.invoke

    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> str | bytes | None:
        function = self.get_function(function_name, qualifier)
        name = function.function_name
        if name not in _function_code:
            return original_invoke(self, function_name, qualifier, body, headers, response_headers)
        invocation_type = (headers or {}).get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            worker = threading.Thread(
                target=invoke_in_process, args=(name, function.function_arn, body), daemon=True
            )
            worker.start()
            return b""
        payload, errored = invoke_in_process(name, function.function_arn, body)
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    invoke.__wrapped__ = original_invoke  # type: ignore[attr-defined]
    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# 2. states:startExecution parameter/response casing (moto issue 10076, PR 10101)
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _stepfunctions_service_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("stepfunctions")


def _operation_model(snake_action: str) -> Any:
    pascal = "".join(part.title() for part in snake_action.split("_"))
    return _stepfunctions_service_model().operation_model(pascal)


def _patch_sfn_integration_casing() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    original_normalise_parameters = StateTaskServiceSfn._normalise_parameters

    def normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original_normalise_parameters(
            self,
            parameters=parameters,
            boto_service_name=boto_service_name,
            service_action_name=service_action_name,
        )
        action = self._get_boto_service_action(service_action_name=service_action_name)
        self._to_boto_request(parameters, _operation_model(action).input_shape)

    def normalise_response(
        self: Any,
        response: Any,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        action = self._get_boto_service_action(service_action_name=service_action_name)
        self._from_boto_response(response, _operation_model(action).output_shape)

    StateTaskServiceSfn._normalise_parameters = normalise_parameters  # type: ignore[method-assign]
    StateTaskServiceSfn._normalise_response = normalise_response  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# 3. Unnamed executions get a UUID name (the parser backend builds "...:None" ARNs)
# --------------------------------------------------------------------------------------------------


def _patch_unnamed_executions() -> None:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original_start_execution = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: Any = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        name = name or str(uuid.uuid4())
        execution_arn = f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        for hook in execution_start_hooks():  # before the execution's first state runs
            hook(execution_arn)
        return original_start_execution(
            self,
            state_machine_arn,
            name=name,
            execution_input=execution_input,
            trace_header=trace_header,
        )

    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------------
# 4. Instant retries (switch)
# --------------------------------------------------------------------------------------------------


_retry_wakeup = threading.Event()  # set while fast retries are on: wakes retry waits in progress


class _RetrierClock:
    """Stands in for the ``time`` module inside moto's retrier: ``sleep`` honours the switch."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        if not _fast_retries:
            _retry_wakeup.wait(seconds)


def _patch_retry_sleep() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    retrier_decl.time = _RetrierClock()  # type: ignore[assignment]


def set_fast_retries(enabled: bool) -> None:
    """Make the ASL's Retry intervals instant (True) or real sleeps (False, the default).

    Turning it on also ends the retry waits in progress (``LocalAws`` does so on exit, so executions
    still waiting to retry finish before the mock stops)."""
    global _fast_retries
    _fast_retries = enabled
    if enabled:
        _retry_wakeup.set()
    else:
        _retry_wakeup.clear()


def fast_retries_enabled() -> bool:
    return _fast_retries


# --------------------------------------------------------------------------------------------------
# 5. Direct in-process Lambda Tasks and cached JSONPath parsing (speed)
# --------------------------------------------------------------------------------------------------


def _registered_function(function_name_or_arn: str, region: str) -> tuple[str, str] | None:
    """(name, ARN) of a deployed, registered function named by ``FunctionName``; None otherwise."""
    from moto.awslambda_simple.models import lambda_simple_backends  # lambda: {use_docker: False}
    from moto.core import DEFAULT_ACCOUNT_ID

    name = function_name_or_arn
    account = DEFAULT_ACCOUNT_ID
    if name.startswith("arn:"):
        parts = name.split(":")  # arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
        if len(parts) < 7 or parts[5] != "function":
            return None
        region, account, name = parts[3], parts[4], parts[6]
    if name not in _function_code:
        return None
    try:
        function = lambda_simple_backends[account][region].get_function(name)
    except Exception:  # not deployed in this mock: let the boto3 path report it as AWS would
        return None
    return function.function_name, function.function_arn


def _patch_direct_lambda_tasks() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original = lambda_eval_utils._invoke_lambda_function

    def invoke_lambda_function(parameters: dict[str, Any], region: str, state_credentials: Any) -> Any:
        target = _registered_function(str(parameters.get("FunctionName", "")), region)
        if target is None or parameters.get("InvocationType", "RequestResponse") != "RequestResponse":
            return original(parameters, region, state_credentials)
        payload, errored = invoke_in_process(target[0], target[1], parameters.get("Payload"))
        text = payload.decode("utf-8")
        try:
            parsed: Any = json.loads(text)
        except json.JSONDecodeError:
            parsed = text
        response: dict[str, Any] = {"StatusCode": 200, "Payload": parsed, "ExecutedVersion": "$LATEST"}
        if errored:
            response["FunctionError"] = "Unhandled"
        return response

    invoke_lambda_function.__wrapped__ = original  # type: ignore[attr-defined]
    lambda_eval_utils._invoke_lambda_function = invoke_lambda_function


def _patch_jsonpath_parse_cache() -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    json_path.parse = lru_cache(maxsize=4096)(json_path.parse)  # type: ignore[attr-defined]


def apply_moto_patches() -> None:
    """Apply every patch once per process (safe to call again)."""
    global _applied
    with _apply_lock:
        if _applied:
            return
        _patch_lambda_invoke()
        _patch_sfn_integration_casing()
        _patch_unnamed_executions()
        _patch_retry_sleep()
        _patch_direct_lambda_tasks()
        _patch_jsonpath_parse_cache()
        _applied = True
