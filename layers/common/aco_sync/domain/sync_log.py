"""The sync log a user reads: exact messages (PRODUCT.md) and small helpers. No PHI ever goes in here:
MASTER_PAT_IDs, measure ids, TINs, counts, file names and rows only."""

from __future__ import annotations

MISSING_ROSTER_HALT = "ACO aggregation for measure {measure} cannot proceed due to missing Medicare roster"
AMBIGUOUS_ROSTER_SKIP = "Patient {master_pat_id} skipped because more than one roster match was found"


def missing_roster_halt_message(measure_id: str) -> str:
    """PRODUCT.md's exact halt line; ``{MEASURE #}`` is the catalog measure id, e.g. ``M001``."""
    return MISSING_ROSTER_HALT.format(measure=measure_id)


def ambiguous_roster_skip_message(master_pat_id: str) -> str:
    """PRODUCT.md's exact roster-skip line."""
    return AMBIGUOUS_ROSTER_SKIP.format(master_pat_id=master_pat_id)
