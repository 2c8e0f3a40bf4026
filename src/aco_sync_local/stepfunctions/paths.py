"""The JSONPath subset the ACO Sync state machines use, payload templates and intrinsic functions.

Paths are plain: ``$``, ``$.a.b``, ``$.a[0]``, and context paths ``$$.Execution.Id``,
``$$.Map.Item.Value.tin``. Anything else (wildcards, filters, ``..``, bracketed names) is refused with
``UnsupportedAslError`` when the state machine is loaded, never evaluated approximately. Intrinsic
functions: ``States.Format``, ``States.StringToJson``, ``States.JsonToString``, ``States.Array``,
``States.UUID``.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import lru_cache
from typing import Any

from aco_sync_local.stepfunctions.errors import StateFailure, UnsupportedAslError

_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]")
INTRINSICS = frozenset(
    {"States.Format", "States.StringToJson", "States.JsonToString", "States.Array", "States.UUID"}
)


@lru_cache(maxsize=4096)
def parse_path(path: str) -> tuple[bool, tuple[str | int, ...]]:
    """(is a context path, steps). ``UnsupportedAslError`` for anything but plain paths."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise UnsupportedAslError(f"{path!r} is not a JSONPath (it must start with '$')")
    context = path.startswith("$$")
    rest = path[2:] if context else path[1:]
    steps: list[str | int] = []
    position = 0
    while position < len(rest):
        match = _SEGMENT.match(rest, position)
        if match is None:
            raise UnsupportedAslError(
                f"JSONPath {path!r} is not supported by the local interpreter (plain $.a.b[0] paths only)"
            )
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    return context, tuple(steps)


class PathNotFound(Exception):
    pass


def _walk(value: Any, steps: tuple[str | int, ...], path: str) -> Any:
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                raise PathNotFound(path)
            value = value[step]
        else:
            if not isinstance(value, dict) or step not in value:
                raise PathNotFound(path)
            value = value[step]
    return value


def read_path(path: str, data: Any, context: Any) -> Any:
    """The value at ``path`` (``PathNotFound`` when absent)."""
    is_context, steps = parse_path(path)
    return _walk(context if is_context else data, steps, path)


def write_result(result_path: str | None, data: Any, result: Any, *, state: str) -> Any:
    """``ResultPath``: ``None`` discards the result, ``$`` replaces the input, ``$.a.b`` sets it."""
    if result_path is None:
        return data
    is_context, steps = parse_path(result_path)
    if is_context or any(isinstance(s, int) for s in steps):
        raise UnsupportedAslError(f"ResultPath {result_path!r} of {state!r}: only $ or $.a.b is allowed")
    if not steps:
        return result
    if not isinstance(data, dict):
        raise StateFailure(
            "States.Runtime",
            f"An error occurred while executing the state '{state}'. Unable to apply ResultPath "
            f"'{result_path}' to input '{_short(data)}'",
        )
    output = dict(data)
    target = output
    for step in steps[:-1]:
        child = target.get(step)
        child = dict(child) if isinstance(child, dict) else {}
        target[step] = child
        target = child
    target[str(steps[-1])] = result
    return output


def select(path: str | None, data: Any, *, state: str, field: str) -> Any:
    """``InputPath``/``OutputPath``/``ItemsPath``: ``None`` gives ``{}``, a missing path fails."""
    if path is None:
        return {}
    try:
        return read_path(path, data, None)
    except PathNotFound:
        raise StateFailure(
            "States.Runtime",
            f"An error occurred while executing the state '{state}'. Invalid path '{path}' : "
            f"The {field} '{path}' could not be found in the input '{_short(data)}'",
        ) from None


def _short(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= 400 else text[:400] + "..."


def check_template(template: Any, where: str) -> None:
    """Refuse unsupported paths or intrinsic functions in a payload template when loading."""
    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$"):
                if not isinstance(value, str):
                    raise UnsupportedAslError(f"{where}: {key} must be a string")
                if value.startswith("$"):
                    parse_path(value)
                else:
                    _parse_intrinsic(value, where)
            else:
                check_template(value, where)
    elif isinstance(template, list):
        for value in template:
            check_template(value, where)


def apply_template(template: Any, data: Any, context: Any, *, state: str) -> Any:
    """A ``Parameters``/``ItemSelector``/``ResultSelector`` template applied to ``data``."""
    if isinstance(template, dict):
        output: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                name = key[:-2]
                if value.startswith("$"):
                    try:
                        output[name] = read_path(value, data, context)
                    except PathNotFound:
                        raise StateFailure(
                            "States.Runtime",
                            f"An error occurred while executing the state '{state}'. The JSONPath "
                            f"'{value}' specified for the field '{key}' could not be found in the input "
                            f"'{_short(data)}'",
                        ) from None
                else:
                    output[name] = evaluate_intrinsic(value, data, context, state=state)
            else:
                output[key] = apply_template(value, data, context, state=state)
        return output
    if isinstance(template, list):
        return [apply_template(v, data, context, state=state) for v in template]
    return template


# -- intrinsic functions ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:\\.|[^'\\])*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<path>\$\$?[^,()\s]*)"
    r"|(?P<call>States\.[A-Za-z]+)\s*\(|(?P<close>\))|(?P<comma>,)|(?P<literal>true|false|null))"
)


@lru_cache(maxsize=1024)
def _parse_intrinsic(text: str, where: str = "") -> tuple[Any, ...]:
    """``States.Format('{}-mcqm', $.sync_id)`` -> ("call", name, args)."""
    position = 0

    def parse_call(name: str) -> tuple[Any, ...]:
        nonlocal position
        if name not in INTRINSICS:
            raise UnsupportedAslError(f"{where}: intrinsic function {name} is not supported locally")
        args: list[Any] = []
        while True:
            match = _TOKEN.match(text, position)
            if match is None:
                raise UnsupportedAslError(f"{where}: cannot parse intrinsic function {text!r}")
            position = match.end()
            if match.group("close"):
                return ("call", name, tuple(args))
            if match.group("comma"):
                continue
            if match.group("string") is not None:
                raw = match.group("string")[1:-1]
                args.append(("literal", re.sub(r"\\(.)", r"\1", raw)))
            elif match.group("number") is not None:
                number = match.group("number")
                args.append(("literal", float(number) if "." in number else int(number)))
            elif match.group("literal") is not None:
                args.append(("literal", json.loads(match.group("literal"))))
            elif match.group("path") is not None:
                parse_path(match.group("path"))
                args.append(("path", match.group("path")))
            elif match.group("call"):
                args.append(parse_call(match.group("call")))

    match = _TOKEN.match(text, position)
    if match is None or not match.group("call"):
        raise UnsupportedAslError(f"{where}: {text!r} is neither a JSONPath nor an intrinsic function")
    position = match.end()
    parsed = parse_call(match.group("call"))
    if text[position:].strip():
        raise UnsupportedAslError(f"{where}: unexpected text after the intrinsic function in {text!r}")
    return parsed


def evaluate_intrinsic(text: str, data: Any, context: Any, *, state: str) -> Any:
    return _evaluate(_parse_intrinsic(text, state), data, context, state)


def _evaluate(node: tuple[Any, ...], data: Any, context: Any, state: str) -> Any:
    kind = node[0]
    if kind == "literal":
        return node[1]
    if kind == "path":
        try:
            return read_path(node[1], data, context)
        except PathNotFound:
            raise StateFailure(
                "States.Runtime",
                f"An error occurred while executing the state '{state}'. The JSONPath '{node[1]}' "
                f"could not be found in the input '{_short(data)}'",
            ) from None
    name, args = node[1], [_evaluate(a, data, context, state) for a in node[2]]
    if name == "States.Format":
        template, values = str(args[0]), args[1:]
        pieces = template.split("{}")
        if len(pieces) - 1 != len(values):
            raise StateFailure(
                "States.IntrinsicFailure",
                f"States.Format in '{state}': {len(values)} arguments for {len(pieces) - 1} placeholders",
            )
        out = pieces[0]
        for value, piece in zip(values, pieces[1:], strict=True):
            out += (value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))) + piece
        return out
    if name == "States.StringToJson":
        return json.loads(str(args[0]))
    if name == "States.JsonToString":
        return json.dumps(args[0], separators=(",", ":"))
    if name == "States.Array":
        return list(args)
    return str(uuid.uuid4())  # States.UUID
