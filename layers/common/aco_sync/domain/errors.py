"""Domain errors. The class name is what the state machines match in Retry/Catch ``ErrorEquals``
(the local runner and Lambda both report a raised exception's class name as the error type), so
never rename one without updating ``statemachine/*.asl.json``.
"""


class AcoSyncError(Exception):
    """Base of every ACO Sync domain error."""


class UnknownMeasureError(AcoSyncError):
    pass


class MissingRosterError(AcoSyncError):
    """Data validation: the ACO has no active roster and its settings require one (aborts the sync)."""


class SyncAlreadyRunningError(AcoSyncError):
    """A sync is queued or running for this ACO (including a pending MCQM job)."""


class InvalidInputError(AcoSyncError):
    """An input file cannot be read at all (the reason says why; no PHI)."""


class TransientStoreError(AcoSyncError):
    """A store (S3, DynamoDB, SQS) failed in a way worth retrying."""
