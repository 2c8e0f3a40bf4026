"""The local Step Functions interpreter (``interpreter``) for the JSONPath ASL of ACO Sync."""

from aco_sync_local.stepfunctions.errors import StateFailure, UnsupportedAslError
from aco_sync_local.stepfunctions.interpreter import LocalStepFunctions, Services, check_definition

__all__ = ["LocalStepFunctions", "Services", "StateFailure", "UnsupportedAslError", "check_definition"]
