"""Domain errors. The class name is what the state machines match in Retry/Catch ``ErrorEquals``
(the local runner and Lambda both report a raised exception's class name as the error type), so
never rename one without updating ``statemachine/*.asl.json``.
"""

import traceback


class AcoSyncError(Exception):
    """Base of every ACO Sync domain error."""


class UnknownMeasureError(AcoSyncError):
    pass


class MissingRosterError(AcoSyncError):
    """Data validation: the ACO has no active roster and its settings require one (aborts the sync)."""


class InvalidInputError(AcoSyncError):
    """An input file cannot be read at all (the reason says why; no PHI)."""


class TransientStoreError(AcoSyncError):
    """A store (S3, DynamoDB, SQS) failed in a way worth retrying."""


class BenchmarksNotFoundError(AcoSyncError):
    """No CMS benchmarks for the requested performance year (or the file holds none)."""


class QrdaRejectedError(InvalidInputError):
    """A QRDA Category I file was rejected as a whole (not XML, not QRDA-I, hostile, too large, ...).

    ``reason`` is a sentence a user understands (no PHI), ``line`` the XML line when known and
    ``code`` a machine-readable kind (e.g. ``"xml_doctype"``, ``"not_qrda_cat1"``)."""

    def __init__(self, reason: str, *, line: int | None = None, code: str = "qrda_rejected") -> None:
        super().__init__(reason if line is None else f"{reason} (line {line})")
        self.reason = reason
        self.line = line
        self.code = code


class NoClinicSyncedError(AcoSyncError):
    """Every member clinic of the sync failed: there is nothing to aggregate (the sync fails)."""


class MeasureDataNotFoundError(AcoSyncError):
    """No CMS measure data (qpp-measures-data) for the performance year, or none a file needs."""


def failure_facts(exc: BaseException) -> dict[str, str | None]:
    """What a log may say of an unexpected exception: its type and where it was raised. Never its
    message or traceback: they may quote patient data; the frame locates the bug."""
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    return {"error": type(exc).__name__, "where": f"{frame.filename}:{frame.lineno}" if frame else None}
