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

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from operator import attrgetter

from aco_sync.domain.dedup import PatientKey, name_match_key, normalise_gender
from aco_sync.domain.records import Gender, RosterEntry

SEVERAL_ROWS = -1  # RosterIndex.lookup value of a key shared by several roster rows
NO_ROW = -2  # what engines use for a key absent from RosterIndex.lookup


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


@lru_cache(maxsize=64)
def _gender_value(gender: Gender | str) -> str:
    return normalise_gender(gender).value


class RosterIndex:
    """The roster, indexed by normalised patient key."""

    def __init__(self, roster: Sequence[RosterEntry]) -> None:
        self.roster = roster
        # Bulk normalisation (C-level map over the cached normalisers), then one hash table.
        firsts = map(name_match_key, map(attrgetter("first_name"), roster))
        lasts = map(name_match_key, map(attrgetter("last_name"), roster))
        genders = map(_gender_value, map(attrgetter("gender"), roster))
        self.keys: list[PatientKey] = list(
            zip(firsts, lasts, map(attrgetter("birth_date"), roster), genders, strict=True)
        )
        self.lookup: dict[PatientKey, int] = dict(zip(self.keys, range(len(self.keys)), strict=True))
        """Normalised key -> the roster row, or SEVERAL_ROWS when several rows share it: for hash joins."""
        self._shared = [key for key, count in Counter(self.keys).items() if count > 1]
        for key in self._shared:
            self.lookup[key] = SEVERAL_ROWS
        self._rows_of_shared: dict[PatientKey, list[int]] | None = None
        self.has_measure_flags = set(map(attrgetter("eligible_measures"), roster)) - {None} != set()

    def __len__(self) -> int:
        return len(self.roster)

    @property
    def ambiguous_keys(self) -> int:
        """Roster keys shared by more than one roster row."""
        return len(self._shared)

    def rows_of(self, key: PatientKey) -> list[int]:
        """Every roster row with this normalised key."""
        row = self.lookup.get(key)
        if row is None:
            return []
        if row != SEVERAL_ROWS:
            return [row]
        if self._rows_of_shared is None:
            shared = set(self._shared)
            rows: dict[PatientKey, list[int]] = defaultdict(list)
            for index, roster_key in enumerate(self.keys):
                if roster_key in shared:
                    rows[roster_key].append(index)
            self._rows_of_shared = dict(rows)
        return self._rows_of_shared[key]

    def match(
        self, key: PatientKey, patient_mbis: Iterable[str] = (), *, mbi_tiebreak: bool = False
    ) -> RosterMatch:
        rows = self.rows_of(key)
        if not rows:
            return RosterMatch(MatchKind.NONE)
        if len(rows) == 1:
            return RosterMatch(MatchKind.UNIQUE, rows[0], 1)
        if mbi_tiebreak:
            mbis = {normalise_mbi(m) for m in patient_mbis} - {""}
            roster_mbis = {row: normalise_mbi(self.roster[row].mbi) for row in rows}
            if len(mbis) == 1 and all(roster_mbis.values()):
                (mbi,) = mbis
                by_mbi = [row for row in rows if roster_mbis[row] == mbi]
                if len(by_mbi) == 1:
                    return RosterMatch(MatchKind.RESOLVED_BY_MBI, by_mbi[0], len(rows))
        return RosterMatch(MatchKind.AMBIGUOUS, None, len(rows))

    def eligible_for(self, roster_index: int, measure_aliases: frozenset[str]) -> bool:
        """Per-measure eligibility flags: rows without flags are eligible for every measure."""
        flags = self.roster[roster_index].eligible_measures
        return flags is None or not flags.isdisjoint(measure_aliases)

    def eligible_count(self, measure_aliases: frozenset[str]) -> int:
        if not self.has_measure_flags:
            return len(self.roster)
        return sum(
            1
            for entry in self.roster
            if entry.eligible_measures is None or not entry.eligible_measures.isdisjoint(measure_aliases)
        )
