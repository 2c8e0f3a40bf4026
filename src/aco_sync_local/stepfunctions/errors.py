"""Errors of the local Step Functions interpreter."""

from __future__ import annotations


class UnsupportedAslError(ValueError):
    """The state machine uses ASL the local interpreter does not implement (refused when loaded)."""


class StateFailure(Exception):
    """A state failed with a Step Functions error name and cause (as AWS reports them)."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


class ExecutionAlreadyExists(Exception):
    """StartExecution with the name of an existing execution of the same state machine."""


# Errors that a Retry or Catch on States.ALL never handles (AWS: terminal for the execution)
UNCATCHABLE = frozenset({"States.Runtime", "States.DataLimitExceeded"})
