"""Echoing a value in an issue reason only when its shape says it cannot be PHI (a catalog-shaped
measure id): shared by the file readers (``aco_sync.ingest``) and the eCQM engine (``aco_sync.ecqm``)."""

from __future__ import annotations

import re

_ECHO_SAFE = {
    "measure": re.compile(r"M[0-9]{3}|[0-9]{3}SSP|CMS[0-9]{1,4}(?:V[0-9]{1,2})?", re.IGNORECASE),
}


def quoted_if_safe(value: str, kind: str) -> str:
    """``" 'M999'"`` when ``value`` has the shape of a ``kind`` value that cannot be PHI (only
    ``"measure"``: a catalog-shaped measure id), else ``""``. Used to echo bad values in reasons safely."""
    value = value.strip()
    return f" {value!r}" if _ECHO_SAFE[kind].fullmatch(value) else ""
