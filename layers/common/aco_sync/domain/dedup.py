"""Patient de-duplication (PRODUCT.md "Patient de-duplication").

Two records are the same ACO patient when first name, last name, date of birth and gender match after
normalisation a user would call "the same text": Unicode NFKC, case-folded, surrounding and repeated
whitespace collapsed. Nothing fuzzier is merged: :func:`find_probable_duplicates` only *reports* pairs
that look alike (one edit apart, nickname, initial, swapped day/month) for a person to review.

The MASTER_PAT_ID is a keyed MAC (HMAC-SHA256, truncated to 64 bits) of the normalised key with the
deployment's pseudonym key (:class:`PseudonymKey`, given by the caller: on AWS a Secrets Manager secret
the template creates, locally a 0600 file in the state folder; see docs/SECURITY.md). It is the same
across syncs of one deployment and whatever the order of the input, differs between deployments, and
cannot be recomputed from a list of names and birth dates without the key (45 CFR 164.514(c)).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from itertools import compress, repeat
from operator import itemgetter
from typing import Any

from aco_sync.domain.bulk import gc_paused
from aco_sync.domain.records import Gender, PerformanceRecord

MASTER_PAT_ID_PREFIX = "MP"
PSEUDONYM_KEY_MIN_BYTES = 32  # 256 bits: the key, not the patient data, must carry the entropy


@dataclass(frozen=True, slots=True)
class PseudonymKey:
    """The per-deployment secret the MASTER_PAT_IDs are keyed with. Its repr never shows the secret."""

    secret: bytes

    def __post_init__(self) -> None:
        if len(self.secret) < PSEUDONYM_KEY_MIN_BYTES:
            raise ValueError(f"a pseudonym key needs at least {PSEUDONYM_KEY_MIN_BYTES} bytes")

    @classmethod
    def from_text(cls, text: str) -> PseudonymKey:
        """The key stored as text (Secrets Manager secret string, the local key file)."""
        return cls(text.strip().encode("utf-8"))

    @property
    def fingerprint(self) -> str:
        """A short, one-way id of the key (which key made a set of ids; never the key itself)."""
        return hashlib.sha256(b"aco-sync pseudonym key id\x00" + self.secret).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"PseudonymKey(fingerprint={self.fingerprint!r})"


PatientKey = tuple[str, str, date, str]
"""(normalised first name, normalised last name, birth date, gender code)."""

_GENDER_ALIASES = {
    "f": Gender.FEMALE,
    "female": Gender.FEMALE,
    "w": Gender.FEMALE,
    "m": Gender.MALE,
    "male": Gender.MALE,
    "u": Gender.UNKNOWN,
    "unknown": Gender.UNKNOWN,
    "": Gender.UNKNOWN,
}


@lru_cache(maxsize=262_144)
def name_match_key(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: what a user would call "the same text"."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def normalise_gender(gender: Gender | str) -> Gender:
    if isinstance(gender, Gender):
        return gender
    try:
        return _GENDER_ALIASES[gender.strip().casefold()]
    except KeyError:
        raise ValueError(f"Unknown gender {gender!r}") from None


def patient_key(first_name: str, last_name: str, birth_date: date, gender: Gender | str) -> PatientKey:
    """The normalised identity two records must share to be the same ACO patient."""
    return (
        name_match_key(first_name),
        name_match_key(last_name),
        birth_date,
        normalise_gender(gender).value,
    )


def master_patient_id_for_key(key: PatientKey, pseudonym_key: PseudonymKey) -> str:
    """``"MP"`` + 16 hex digits of HMAC-SHA256(pseudonym key, normalised key): stable across syncs of
    one deployment, different under another key, not recomputable without the key."""
    first, last, birth, gender = key
    material = f"{first}\x1f{last}\x1f{birth.isoformat()}\x1f{gender}".encode()
    return MASTER_PAT_ID_PREFIX + hmac.digest(pseudonym_key.secret, material, "sha256")[:8].hex().upper()


def master_patient_ids(keys: Iterable[PatientKey], pseudonym_key: PseudonymKey) -> list[str]:
    """:func:`master_patient_id_for_key` of many keys at once (the same ids): one ISO date per distinct
    birth date and C-level ``map`` over the MAC, instead of a Python call per patient."""
    keys = list(keys)
    births = list(map(itemgetter(2), keys))
    iso = {day: day.isoformat() for day in set(births)}
    materials = map(
        str.encode,
        map(
            "\x1f".join,
            zip(
                map(itemgetter(0), keys),
                map(itemgetter(1), keys),
                map(iso.__getitem__, births),
                map(itemgetter(3), keys),
                strict=True,
            ),
        ),
    )
    macs = map(hmac.digest, repeat(pseudonym_key.secret), materials, repeat("sha256"))
    hex_digits = map(str.upper, map(bytes.hex, map(_FIRST_8_BYTES, macs)))
    return list(map(MASTER_PAT_ID_PREFIX.__add__, hex_digits))


_FIRST_8_BYTES = itemgetter(slice(0, 8))


def master_patient_id(
    first_name: str, last_name: str, birth_date: date, gender: Gender | str, *, pseudonym_key: PseudonymKey
) -> str:
    """The ACO-level patient id: same patient (after normalisation) -> same id, today and tomorrow."""
    return master_patient_id_for_key(patient_key(first_name, last_name, birth_date, gender), pseudonym_key)


# ---------------------------------------------------------------------------------------------------
# Probable duplicates: reported for review, never merged.

# Common English given-name variants (both directions are checked). Extend as needed; it only feeds a
# review report, so a missing nickname means a missed hint, never a wrong merge.
NICKNAMES: dict[str, frozenset[str]] = {
    name: frozenset(group)
    for group in (
        {"william", "bill", "will", "billy", "willy", "liam"},
        {"robert", "bob", "rob", "bobby", "robbie", "bert"},
        {"richard", "rick", "dick", "rich", "ricky"},
        {"james", "jim", "jimmy", "jamie"},
        {"john", "jack", "johnny", "jon"},
        {"joseph", "joe", "joey"},
        {"thomas", "tom", "tommy"},
        {"charles", "charlie", "chuck", "chas"},
        {"michael", "mike", "mick", "mickey"},
        {"edward", "ed", "eddie", "ted", "ned"},
        {"elizabeth", "liz", "beth", "betty", "eliza", "lisa", "betsy", "libby"},
        {"margaret", "maggie", "peggy", "meg", "marge", "margie"},
        {"katherine", "kate", "kathy", "katie", "kat", "catherine", "cathy"},
        {"patricia", "pat", "patty", "trish", "tricia"},
        {"jennifer", "jen", "jenny"},
        {"susan", "sue", "susie"},
        {"deborah", "deb", "debbie"},
        {"barbara", "barb", "babs"},
        {"dorothy", "dot", "dottie"},
        {"alexander", "alex", "al", "sandy"},
        {"anthony", "tony"},
        {"daniel", "dan", "danny"},
        {"david", "dave", "davey"},
        {"steven", "steve", "stephen"},
        {"christopher", "chris"},
        {"nicholas", "nick", "nicky"},
        {"samuel", "sam", "sammy"},
        {"benjamin", "ben", "benny"},
        {"andrew", "andy", "drew"},
        {"matthew", "matt"},
        {"gregory", "greg"},
        {"ronald", "ron", "ronnie"},
        {"donald", "don", "donnie"},
        {"kenneth", "ken", "kenny"},
        {"lawrence", "larry"},
        {"gerald", "gerry", "jerry"},
        {"frances", "fran", "frannie"},
        {"francis", "frank", "frankie"},
        {"victoria", "vicky", "tori"},
        {"rebecca", "becky", "becca"},
        {"christine", "chris", "christy", "tina"},
        {"theresa", "terry", "tess", "tessa"},
        {"virginia", "ginny", "ginger"},
        {"judith", "judy"},
        {"carol", "carole", "carrie"},
        {"ann", "anne", "anna", "annie", "nancy"},
        {"mary", "molly", "polly", "mae"},
        {"helen", "nell", "nellie"},
        {"joan", "joanie"},
        {"harold", "hal", "harry"},
        {"henry", "hank", "harry"},
        {"walter", "walt", "wally"},
        {"raymond", "ray"},
        {"eugene", "gene"},
        {"frederick", "fred", "freddie"},
        {"albert", "al", "bert"},
        {"louis", "lou"},
        {"leonard", "leo", "len", "lenny"},
    )
    for name in group
}


@dataclass(frozen=True, slots=True)
class ProbableDuplicate:
    """Two MASTER_PAT_IDs that look like the same person; for review, never merged automatically."""

    master_pat_id_a: str  # the smaller id of the pair
    master_pat_id_b: str
    reason: str  # "one_edit_first_name", "one_edit_last_name", "nickname", "initial", "swapped_day_month"

    def to_dict(self) -> dict[str, str]:
        return {
            "master_pat_id_a": self.master_pat_id_a,
            "master_pat_id_b": self.master_pat_id_b,
            "reason": self.reason,
        }


def find_probable_duplicates(
    keys: Iterable[PatientKey], *, pseudonym_key: PseudonymKey, max_block_size: int = 50
) -> list[ProbableDuplicate]:
    """Pairs of distinct patient keys that probably are one person (see :func:`_find_probable_duplicates`)."""
    with gc_paused():
        return _find_probable_duplicates(keys, pseudonym_key=pseudonym_key, max_block_size=max_block_size)


def _find_probable_duplicates(
    keys: Iterable[PatientKey], *, pseudonym_key: PseudonymKey, max_block_size: int = 50
) -> list[ProbableDuplicate]:
    """Pairs of distinct patient keys that probably are one person (a review report; never merged).

    Linear-time blocking (hash joins, no all-pairs comparison): candidates share the birth date and
    gender and either the last name (first names one edit apart, nickname or initial), or the first
    name (last names one edit apart), or both names and the birth year with day and month of the birth
    date swapped.
    Blocks larger than ``max_block_size`` are skipped (too common to be informative). The result is
    sorted and does not depend on input order.
    """
    unique = list(set(keys))  # order does not matter: the pairs found are sorted at the end
    if not unique:
        return []
    # Only keys that share a block with another key can pair up: count block sizes first (C-level
    # Counter over zip), then build the few blocks that matter.
    firsts, lasts, births, genders = (list(map(itemgetter(i), unique)) for i in range(4))
    by_last = _small_blocks(unique, list(zip(lasts, births, genders, strict=True)), max_block_size)
    by_first = _small_blocks(unique, list(zip(firsts, births, genders, strict=True)), max_block_size)
    # day and month swapped: same names, gender and birth year (a block never crosses an engine
    # partition, aco_sync.domain.partitions, so its size and pairs do not depend on the partitioning)
    years = [birth.year for birth in births]
    by_names = _small_blocks(unique, list(zip(firsts, lasts, genders, years, strict=True)), max_block_size)

    found: set[tuple[str, str, str]] = set()

    def report(a: PatientKey, b: PatientKey, reason: str) -> None:
        id_a, id_b = sorted(
            (master_patient_id_for_key(a, pseudonym_key), master_patient_id_for_key(b, pseudonym_key))
        )
        found.add((id_a, id_b, reason))

    for block in by_last:
        for i, a in enumerate(block):
            for b in block[i + 1 :]:
                reason = _first_name_reason(a[0], b[0])
                if reason:
                    report(a, b, reason)
    for block in by_first:
        for i, a in enumerate(block):
            for b in block[i + 1 :]:
                if _is_one_edit(a[1], b[1]):
                    report(a, b, "one_edit_last_name")
    for block in by_names:
        by_birth = {key[2]: key for key in block}
        for key in block:
            birth = key[2]
            if birth.day > 12 or birth.day == birth.month:
                continue
            other = by_birth.get(birth.replace(month=birth.day, day=birth.month))
            if other is not None and key < other:
                report(key, other, "swapped_day_month")
    return [ProbableDuplicate(a, b, reason) for a, b, reason in sorted(found)]


def _small_blocks(
    keys: list[PatientKey], block_keys: list[Any], max_block_size: int
) -> list[list[PatientKey]]:
    """Blocks of 2..max_block_size keys; the filtering runs at C speed, the grouping only on survivors."""
    sizes = Counter(block_keys)
    wanted = {block_key for block_key, size in sizes.items() if 1 < size <= max_block_size}
    flags = list(map(wanted.__contains__, block_keys))
    blocks: dict[Any, list[PatientKey]] = defaultdict(list)
    for key, block_key in zip(compress(keys, flags), compress(block_keys, flags), strict=True):
        blocks[block_key].append(key)
    return list(blocks.values())


def _first_name_reason(a: str, b: str) -> str | None:
    if _is_one_edit(a, b):
        return "one_edit_first_name"
    if b in NICKNAMES.get(a, frozenset()):
        return "nickname"
    if _is_initial_of(a, b) or _is_initial_of(b, a):
        return "initial"
    return None


def _is_initial_of(initial: str, name: str) -> bool:
    """``"j"`` or ``"j."`` is an initial of ``"john"``."""
    stripped = initial.rstrip(".")
    return len(stripped) == 1 and len(name) > 1 and name.startswith(stripped)


def _is_one_edit(a: str, b: str) -> bool:
    """One insertion, deletion or substitution, or two adjacent characters swapped."""
    if a == b:
        return False
    la, lb = len(a), len(b)
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        i = diffs[0]
        return len(diffs) == 2 and diffs[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    if abs(la - lb) != 1:
        return False
    shorter, longer = (a, b) if la < lb else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


# ---------------------------------------------------------------------------------------------------
# A reviewer's decisions on probable duplicates (reviews/<aco_id>/duplicate-decisions.csv).


def merge_same_person(
    records: Iterable[PerformanceRecord], same: Iterable[tuple[str, str]], *, pseudonym_key: PseudonymKey
) -> tuple[list[PerformanceRecord] | None, dict[str, str]]:
    """Records with every pair a reviewer decided is one person merged under one MASTER_PAT_ID (the
    smallest of the group that has records): the other ids' records take its identity (names, birth
    date, gender; everything else is kept). Returns (records or None when nothing changes,
    {merged id: kept id})."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for a, b in same:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    if not parent:
        return None, {}
    with gc_paused():
        items = list(records)
        ids = [
            master_patient_id(r.first_name, r.last_name, r.birth_date, r.gender, pseudonym_key=pseudonym_key)
            for r in items
        ]
        identity: dict[str, PerformanceRecord] = {}
        for record, master_id in zip(items, ids, strict=True):
            identity.setdefault(master_id, record)
        groups: dict[str, list[str]] = defaultdict(list)
        for member in {*parent, *parent.values()}:
            groups[find(member)].append(member)
        target: dict[str, str] = {}
        for members in groups.values():
            present = sorted(m for m in members if m in identity)
            for member in present[1:]:
                target[member] = present[0]
        if not target:
            return None, {}
        merged = [
            record
            if master_id not in target
            else replace(
                record,
                first_name=identity[target[master_id]].first_name,
                last_name=identity[target[master_id]].last_name,
                birth_date=identity[target[master_id]].birth_date,
                gender=identity[target[master_id]].gender,
            )
            for record, master_id in zip(items, ids, strict=True)
        ]
    return merged, target
