"""Executions across local processes: which ``aco-sync run`` runs an execution, and is it still alive.

Each local run has its own in-process Step Functions interpreter, which knows only the executions
it started. The lock (``aco_sync.service.lock``) asks ``execution_status`` of the execution holding an
ACO's lock; locally that execution may belong to another process (a concurrent ``aco-sync run``) or to
one that died (SIGKILL). ``LocalWorkflowStarter`` answers from this process's emulator when it knows
the execution, else from the state file: every execution a local process starts is recorded there
with the process id and start time, so it is ``RUNNING`` while that process lives and unknown
(``None``: a stale lock, taken over) once it is gone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aco_sync.adapters.ports import WorkflowStarter
from aco_sync.adapters.sqlite import SqliteSyncStateStore


def process_start(pid: int) -> str:
    """An identity of the process ``pid`` that a reused pid does not share (its start time on Linux);
    "" when the process does not exist."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        # the fields after the command name (which may hold spaces) start at the last ")"
        return stat.read_text().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return ""
    except PermissionError:
        return "alive"
    return "alive" if not stat.parent.exists() else ""


def process_alive(pid: int, started: str) -> bool:
    current = process_start(pid)
    return bool(current) and (current == started or "alive" in (current, started))


class LocalWorkflowStarter:
    """Wraps this process's ``WorkflowStarter`` (the local interpreter; made on first use) and answers
    for executions of other local processes from the state file (the runner records each execution it
    starts there)."""

    def __init__(self, inner: Callable[[], WorkflowStarter], state: SqliteSyncStateStore) -> None:
        self._make_inner = inner
        self._inner: WorkflowStarter | None = None
        self.state = state

    @property
    def inner(self) -> WorkflowStarter:
        if self._inner is None:
            self._inner = self._make_inner()
        return self._inner

    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str:
        return self.inner.start(state_machine_arn, name, payload)

    def execution_status(self, execution_arn: str) -> str | None:
        owner = self.state.local_execution_owner(execution_arn)
        if owner is not None and owner[0] != os.getpid():
            return "RUNNING" if process_alive(*owner) else None
        return self.inner.execution_status(execution_arn)


# The local runner's in-process Step Functions interpreter (aco_sync_local.local_stack registers it):
# with it, the local stores start and describe executions without any AWS library.
_in_process: WorkflowStarter | None = None


def use_in_process_workflows(workflows: WorkflowStarter | None) -> None:
    """Register (or, with None, unregister) this process's local Step Functions interpreter."""
    global _in_process
    _in_process = workflows


def in_process_workflows() -> WorkflowStarter | None:
    return _in_process


class InProcessWorkflows:
    """The interpreter registered *now*, looked up at each call: the handlers keep their stores per
    warm container (``container_stores``), across local stacks started one after another."""

    @staticmethod
    def _current() -> WorkflowStarter:
        if _in_process is None:
            raise RuntimeError("No local Step Functions interpreter is running in this process")
        return _in_process

    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str:
        return self._current().start(state_machine_arn, name, payload)

    def execution_status(self, execution_arn: str) -> str | None:
        return self._current().execution_status(execution_arn)
