"""HL7 v3 timestamps (TS) in every form real QRDA files use.

``YYYY[MM[DD[HH[MM[SS[.ffff]]]]]][+|-ZZZZ]`` (the standard form), ISO 8601 (``2025-03-04T08:00:00Z``,
seen in hand-made files) and Unix epoch seconds (seen in Cypress exports). Results are naive datetimes
of the wall-clock time written (the UTC offset is dropped; epoch seconds are read as UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_HL7_TS = re.compile(
    r"^(?P<y>\d{4})(?P<mo>\d{2})?(?P<d>\d{2})?(?P<h>\d{2})?(?P<mi>\d{2})?(?P<s>\d{2})?"
    r"(?:\.(?P<f>\d{1,6})\d*)?(?P<tz>[+-]\d{2,4}|Z)?$"
)
_EPOCH = re.compile(r"^-?\d{9,10}$")
_MIN_YEAR = 1800


def parse_hl7_timestamp(text: str) -> datetime:
    """Parse one timestamp; raises ``ValueError`` with a readable message when it is not one."""
    value = text.strip()
    if len(value) > 9 and value[8] == "T" and value[:8].isdigit():  # "20250304T0830": compact ISO basic
        value = value[:8] + value[9:]
    match = _HL7_TS.match(value)
    if match:
        try:
            parsed = datetime(
                int(match["y"]),
                int(match["mo"] or 1),
                int(match["d"] or 1),
                int(match["h"] or 0),
                int(match["mi"] or 0),
                int(match["s"] or 0),
                int((match["f"] or "0").ljust(6, "0")),
            )
        except ValueError:
            parsed = None
        if parsed is not None and parsed.year >= _MIN_YEAR:
            return parsed
    if _EPOCH.match(value):
        return datetime.fromtimestamp(int(value), tz=UTC).replace(tzinfo=None)
    try:
        iso = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a valid timestamp") from None
    if iso.year < _MIN_YEAR:
        raise ValueError(f"{value!r} is not a valid timestamp")
    return iso.replace(tzinfo=None)
