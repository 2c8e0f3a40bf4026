"""Value sets, loaded from the TSV expansion format.

The format (tab-separated, header required) is the one of the bundled
``aco_sync/data/valuesets/target_measures_valueset_codes_qicore2024.tsv``: columns ``oid``,
``valueset_name``, ``code_system`` and ``code`` are used; others (version, display, ...) are ignored.
Users with a licensed VSAC account substitute their own expansions in the same format
(:func:`load_value_sets` with a path). A set is addressed by its name (as the CQL names it) or OID.
"""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path

from aco_sync.domain.errors import InvalidInputError
from aco_sync.ecqm.codes import Code
from aco_sync.ecqm.editions import edition

REQUIRED_COLUMNS = ("oid", "valueset_name", "code_system", "code")


class ValueSetLibrary:
    """Value set name/OID -> the set of codes in its expansion."""

    def __init__(self, sets: dict[str, frozenset[Code]], oids: dict[str, str]) -> None:
        self._sets = sets  # by name
        self._name_by_oid = oids
        self._unions: dict[tuple[str, ...], frozenset[Code]] = {}

    def __len__(self) -> int:
        return len(self._sets)

    @property
    def names(self) -> list[str]:
        return sorted(self._sets)

    def codes(self, name_or_oid: str) -> frozenset[Code]:
        name = self._name_by_oid.get(name_or_oid, name_or_oid)
        try:
            return self._sets[name]
        except KeyError:
            raise KeyError(f"value set {name_or_oid!r} is not loaded") from None

    def union(self, *names: str) -> frozenset[Code]:
        """The codes of several value sets (memoised: the measure logic asks for the same unions)."""
        cached = self._unions.get(names)
        if cached is None:
            if len(names) == 1:
                cached = self.codes(names[0])
            else:
                merged: set[Code] = set()
                for name in names:
                    merged |= self.codes(name)
                cached = frozenset(merged)
            self._unions[names] = cached
        return cached

    def missing(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if n not in self._sets and n not in self._name_by_oid]

    def merged(self, other: ValueSetLibrary) -> ValueSetLibrary:
        """This library plus ``other``; a set present in both is taken from ``other``."""
        return ValueSetLibrary({**self._sets, **other._sets}, {**self._name_by_oid, **other._name_by_oid})

    @classmethod
    def from_tsv(cls, text: str, *, source: str = "value sets") -> ValueSetLibrary:
        reader = csv.DictReader(io.StringIO(text), delimiter="\t")
        header = [h.strip() for h in reader.fieldnames or []]
        absent = [c for c in REQUIRED_COLUMNS if c not in header]
        if absent:
            raise InvalidInputError(f"{source}: missing column(s) {', '.join(absent)} in the header")
        members: dict[str, set[Code]] = defaultdict(set)
        oids: dict[str, str] = {}
        for line, row in enumerate(reader, start=2):
            name = (row.get("valueset_name") or "").strip()
            code = (row.get("code") or "").strip()
            if not name or not code:
                raise InvalidInputError(f"{source}: line {line} has no value set name or code")
            members[name].add(Code.of(row.get("code_system"), code))
            oid = (row.get("oid") or "").strip()
            if oid:
                oids[oid] = name
        return cls({name: frozenset(codes) for name, codes in members.items()}, oids)


def load_value_sets(*paths: Path) -> ValueSetLibrary:
    """Load value sets from TSV files (merged in order)."""
    library = ValueSetLibrary({}, {})
    for path in paths:
        library = library.merged(
            ValueSetLibrary.from_tsv(path.read_text(encoding="utf-8-sig"), source=path.name)
        )
    return library


VALUE_SETS_ENV = "ACO_SYNC_ECQM_VALUE_SETS"


@cache
def default_value_sets(performance_year: int) -> ValueSetLibrary:
    """The value sets the engine uses for a performance year unless told otherwise: the TSV files
    named in the environment variable ``ACO_SYNC_ECQM_VALUE_SETS`` (paths separated by
    ``os.pathsep``; e.g. licensed VSAC expansions shipped with the deployment), else the expansions
    bundled for that year (:mod:`aco_sync.ecqm.editions`)."""
    configured = os.environ.get(VALUE_SETS_ENV, "").strip()
    if configured:
        return load_value_sets(*(Path(p) for p in configured.split(os.pathsep) if p.strip()))
    return bundled_value_sets(performance_year)


@cache
def bundled_value_sets(performance_year: int) -> ValueSetLibrary:
    """The expansions bundled in ``aco_sync/data/valuesets/`` for the year's measurement period."""
    library = ValueSetLibrary({}, {})
    for name in edition(performance_year).value_set_files:
        text = resources.files("aco_sync").joinpath(name).read_text(encoding="utf-8")
        library = library.merged(ValueSetLibrary.from_tsv(text, source=name))
    return library
