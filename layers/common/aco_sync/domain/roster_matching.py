"""Roster matching (PRODUCT.md "Collection types" Step 2): a de-duplicated patient is compared with the
ACO's Medicare roster on first name, last name, gender and date of birth, normalised exactly as for
de-duplication. Exactly one roster match: the patient is copied to the MCQM instance; none: nothing;
more than one: the patient is skipped and the exact line
``Patient {MASTER_PAT_ID} skipped because more than one roster match was found`` is logged.

Optional (``AcoSettings.roster_mbi_tiebreak``, off by default): when several roster rows match, and the
patient's records carry exactly one MBI, and exactly one of the matching roster rows has that MBI, the
MBI decides (logged as resolved by MBI).

Matching is a hash join on the normalised key: linear in patients + roster rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from aco_sync.domain.dedup import PatientKey, patient_key
from aco_sync.domain.records import RosterEntry

AMBIGUOUS = -1  # RosterIndex.lookup value of a key shared by several roster rows
NO_MATCH = -2  # what engines use for a key absent from RosterIndex.lookup


class MatchKind(StrEnum):
    UNIQUE = "unique"  # exactly one roster row
    NONE = "none"  # no roster row
    AMBIGUOUS = "ambiguous"  # more than one roster row: skip
    RESOLVED_BY_MBI = "resolved_by_mbi"  # more than one, the MBI decided (opt-in)


@dataclass(frozen=True, slots=True)
class RosterMatch:
    kind: MatchKind
    roster_index: int | None = None  # index into the roster sequence when matched
    candidates: int = 0  # how many roster rows matched the key


def normalise_mbi(mbi: str | None) -> str:
    return "".join(mbi.split()).replace("-", "").upper() if mbi else ""


class RosterIndex:
    """The roster, indexed by normalised patient key."""

    def __init__(self, roster: Sequence[RosterEntry]) -> None:
        self.roster = roster
        self._by_key: dict[PatientKey, list[int]] = defaultdict(list)
        for index, entry in enumerate(roster):
            key = patient_key(entry.first_name, entry.last_name, entry.birth_date, entry.gender)
            self._by_key[key].append(index)
        self._mbis = [normalise_mbi(entry.mbi) for entry in roster]
        self.lookup: dict[PatientKey, int] = {
            key: rows[0] if len(rows) == 1 else AMBIGUOUS for key, rows in self._by_key.items()
        }
        """Normalised key -> the roster row, or AMBIGUOUS: for bulk hash joins."""
        self.has_measure_flags = any(entry.eligible_measures is not None for entry in roster)

    def __len__(self) -> int:
        return len(self.roster)

    @property
    def ambiguous_keys(self) -> int:
        """Roster keys shared by more than one roster row."""
        return sum(1 for rows in self._by_key.values() if len(rows) > 1)

    def match(
        self, key: PatientKey, patient_mbis: Iterable[str] = (), *, mbi_tiebreak: bool = False
    ) -> RosterMatch:
        rows = self._by_key.get(key)
        if not rows:
            return RosterMatch(MatchKind.NONE)
        if len(rows) == 1:
            return RosterMatch(MatchKind.UNIQUE, rows[0], 1)
        if mbi_tiebreak:
            mbis = {normalise_mbi(m) for m in patient_mbis} - {""}
            if len(mbis) == 1 and all(self._mbis[row] for row in rows):
                (mbi,) = mbis
                by_mbi = [row for row in rows if self._mbis[row] == mbi]
                if len(by_mbi) == 1:
                    return RosterMatch(MatchKind.RESOLVED_BY_MBI, by_mbi[0], len(rows))
        return RosterMatch(MatchKind.AMBIGUOUS, None, len(rows))

    def eligible_for(self, roster_index: int, measure_aliases: frozenset[str]) -> bool:
        """Per-measure eligibility flags: rows without flags are eligible for every measure."""
        flags = self.roster[roster_index].eligible_measures
        return flags is None or not flags.isdisjoint(measure_aliases)

    def eligible_count(self, measure_aliases: frozenset[str]) -> int:
        return sum(
            1
            for entry in self.roster
            if entry.eligible_measures is None or not entry.eligible_measures.isdisjoint(measure_aliases)
        )
