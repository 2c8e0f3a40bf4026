"""The step contracts: what each workflow step takes in and gives back, one module per step.

A module is named after the step's handler folder (``functions/<step>/``) and holds the step's
``<Step>Input`` and ``<Step>Output`` pydantic models. The handler validates its event with the input
model and returns ``<Step>Output.model_validate(result).model_dump(mode="json")``: an output model
forbids undeclared keys, so what a step returns is exactly what its module declares, and
tests/unit/handlers/test_step_contracts.py checks that every path the state machines read from a step's
result (``$.lock.acquired``, ``$.finalize.mcqm_needed``, ...) is a field of that step's output model.
"""
