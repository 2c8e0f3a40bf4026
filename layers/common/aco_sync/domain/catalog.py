"""The measure registry: every identity fact of a measure, per performance year.

Two sources, both package data:

- ``aco_sync/data/measures.json``: what ACO Sync decides about a measure (catalog id, QPP quality ids
  incl. the Medicare CQM ``SSP`` id, eCQM id and set id, roster column aliases and CMS Web Interface
  names, aggregation rule, collection types, the population criteria it defines such as denominator
  exceptions, the performance years it covers) and the recognition tables for eCQMs that QRDA-I files
  name but ACO Sync does not calculate;
- CMS's data of each year, read by :mod:`aco_sync.domain.qpp_measures` from the bundled
  ``aco_sync/data/benchmarks/qpp_measures_<year>_selected.json`` (CMSgov/qpp-measures-data): eCQM
  version, title, inverse, allowed programs and submission methods of the eCQM/CQM id and of the
  ``SSP`` id, version-specific measure UUID and population UUIDs.

Both are validated with pydantic, and loading fails loudly (:class:`CatalogError`) on an
inconsistency: an empty or duplicate id or alias, a measure missing from CMS's data of a year it
covers, an inverse flag or an exception population that disagrees with CMS's data. (That every eCQM
of a year has registered logic is checked when the eCQM engine loads its measure modules:
``aco_sync.ecqm.registry``.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aco_sync.domain.errors import MeasureDataNotFoundError, UnknownMeasureError
from aco_sync.domain.qpp_measures import QppMeasure, QppMeasureSet, qpp_measures


class CatalogError(ValueError):
    """The measure registry's package data is inconsistent (raised on load)."""


class AggregationRule(StrEnum):
    """PRODUCT.md "Per-measure aggregation rules". M001/M134's "numerator required once per PY; with
    several, the most recent is scored" and M236's "the most recent numerator is scored" are one rule:
    the aggregation is per performance year, and a denominator-only record is never a numerator."""

    MOST_RECENT_NUMERATOR = "most_recent_numerator"  # M001, M134, M236
    ANY_MET_WINS = "any_met_wins"  # M112, M113


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


NOT_PUBLISHED_KINDS = frozenset({"benchmark:eCQM", "benchmark:CQM", "benchmark:MCQM", "qrda3_identifiers"})


class YearOverride(_Frozen):
    """measures.json facts of one year that differ from the measure's: the collection types (a
    Medicare CQM enters the APP Plus set in a later year) and what CMS has not published for it."""

    collection_types: tuple[str, ...] | None = None
    not_published: tuple[str, ...] = ()

    @field_validator("not_published")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - NOT_PUBLISHED_KINDS
        if unknown:
            raise ValueError(
                f"not_published must be among {sorted(NOT_PUBLISHED_KINDS)} (got {sorted(unknown)})"
            )
        return value


class MeasureYear(_Frozen):
    """One measure in one performance year: ACO Sync's facts, and CMS's as
    :mod:`aco_sync.domain.qpp_measures` reads them (``submission``: the eCQM/CQM quality id;
    ``mcqm_submission``: the Medicare CQM ``SSP`` id)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    performance_year: int
    collection_types: tuple[str, ...]
    not_published: frozenset[str] = frozenset()  # e.g. "benchmark:eCQM", "qrda3_identifiers"
    has_exceptions: bool
    submission: QppMeasure
    mcqm_submission: QppMeasure | None

    @property
    def title(self) -> str:  # CMS's title that year
        return self.submission.title

    @property
    def ecqm_version(self) -> str | None:  # "CMS122v14"
        return self.submission.e_measure_id

    @property
    def inverse(self) -> bool:
        return self.submission.inverse

    @property
    def e_measure_uuid(self) -> str | None:  # the version-specific measure id (QRDA III)
        return self.submission.e_measure_uuid

    @property
    def population_uuids(self) -> dict[str, str]:
        return self.submission.population_uuids

    @property
    def has_qrda3_identifiers(self) -> bool:
        return bool(self.e_measure_uuid) and bool(self.population_uuids)


class MeasureDefinition(_Frozen):
    """A catalog measure with every identity fact; ``years`` holds what changes per performance year."""

    id: str
    quality_id: str
    mcqm_quality_id: str
    ecqm_id: str
    set_id: str | None = None  # the version-neutral eCQM set id (QRDA-I Measure Section setId)
    title: str
    inverse: bool
    rule: AggregationRule
    ecqm_convertible_to_mcqm: bool = True
    ecqm_conversion_note: str = ""
    has_exceptions: bool = False
    collection_types: tuple[str, ...]
    web_interface_names: tuple[str, ...] = ()
    qrda_title_prefixes: tuple[str, ...] = ()
    qrda_version_ids: tuple[str, ...] = ()
    performance_years: tuple[int, ...]
    year_overrides: dict[int, YearOverride] = Field(default_factory=dict)
    years: dict[int, MeasureYear] = Field(default_factory=dict)

    _check_ids = field_validator("id", "quality_id", "mcqm_quality_id", "ecqm_id", "title")(_not_blank)

    @field_validator("collection_types")
    @classmethod
    def _known_collection_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - {"eCQM", "CQM", "MCQM"}
        if unknown or not value:
            raise ValueError(f"collection types must be among eCQM, CQM, MCQM (got {sorted(value)})")
        return value

    def year(self, performance_year: int) -> MeasureYear:
        try:
            return self.years[performance_year]
        except KeyError:
            raise UnknownMeasureError(
                f"Measure {self.id} has no facts for performance year {performance_year} "
                f"(covered: {', '.join(map(str, self.performance_years))})"
            ) from None

    def ecqm_version(self, performance_year: int) -> str | None:
        return self.year(performance_year).ecqm_version if performance_year in self.years else None


class OtherEcqm(_Frozen):
    """An eCQM QRDA-I files name that ACO Sync does not calculate (recognised to say so)."""

    ecqm_id: str
    set_id: str | None = None
    version_ids: tuple[str, ...] = ()
    title_prefixes: tuple[str, ...] = ()

    _check_id = field_validator("ecqm_id")(_not_blank)


class _CatalogFile(_Frozen):
    measures: list[MeasureDefinition]
    other_ecqms: list[OtherEcqm] = []
    comment: str = Field("", alias="_comment")

    @model_validator(mode="after")
    def _unique(self) -> _CatalogFile:
        ids = [m.id for m in self.measures]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate measure id in {ids}")
        return self


class MeasureCatalog:
    def __init__(self, measures: list[MeasureDefinition], other_ecqms: list[OtherEcqm] | None = None) -> None:
        self._by_id = {m.id: m for m in measures}
        self._aliases: dict[str, str] = {}
        for m in measures:
            names = {m.id, m.quality_id, m.mcqm_quality_id, m.ecqm_id, f"M{m.quality_id}"}
            for alias in names:
                key = _alias_key(alias)
                if not key:
                    raise CatalogError(f"measure {m.id}: an empty name")
                if self._aliases.get(key, m.id) != m.id:
                    raise CatalogError(f"name {alias!r} names both {self._aliases[key]} and {m.id}")
                self._aliases[key] = m.id
        self._web_interface: dict[str, str] = {}
        for m in measures:
            for name in m.web_interface_names:
                key = _alias_key(name)
                if not key or self._web_interface.get(key, m.id) != m.id:
                    raise CatalogError(f"CMS Web Interface name {name!r} is empty or names two measures")
                self._web_interface[key] = m.id
        self.other_ecqms = tuple(other_ecqms or ())
        ecqm_ids = [m.ecqm_id for m in measures] + [o.ecqm_id for o in self.other_ecqms]
        if len({e.upper() for e in ecqm_ids}) != len(ecqm_ids):
            raise CatalogError(f"duplicate eCQM id in {ecqm_ids}")

    def __iter__(self) -> Iterator[MeasureDefinition]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, measure_id: object) -> bool:
        return isinstance(measure_id, str) and measure_id in self._by_id

    def get(self, measure_id: str) -> MeasureDefinition:
        try:
            return self._by_id[measure_id]
        except KeyError:
            raise UnknownMeasureError(f"Unknown measure {measure_id!r}") from None

    def resolve(self, text: str) -> MeasureDefinition | None:
        """Find a measure by any of its names: M001, 001, 1, 001SSP, CMS122, CMS122v13, DM, ..."""
        key = _alias_key(text)
        return self._by_id.get(self._aliases.get(key, "")) if key else None

    def by_web_interface_name(self, name: str) -> MeasureDefinition | None:
        """A measure by its CMS Web Interface / sampling name (roster columns DM_RANK, PREV_5 ...)."""
        return self._by_id.get(self._web_interface.get(_alias_key(name), ""))

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)

    def ecqm_measures(self, performance_year: int) -> list[MeasureDefinition]:
        """The measures collected as eCQMs in the year (each needs registered eCQM logic)."""
        return [
            m
            for m in self
            if performance_year in m.years and "eCQM" in m.years[performance_year].collection_types
        ]

    @property
    def performance_years(self) -> list[int]:
        return sorted({y for m in self for y in m.performance_years})

    # ---- QRDA-I measure recognition tables (aco_sync.ingest.measure_refs) ----
    def set_ids(self) -> dict[str, str]:
        """Version-neutral eCQM set id -> eCQM id, catalog measures and the others."""
        found = {m.set_id: m.ecqm_id for m in self if m.set_id}
        found.update({o.set_id: o.ecqm_id for o in self.other_ecqms if o.set_id})
        return found

    def version_ids(self) -> dict[str, str]:
        """Version-specific measure ids (QRDA III UUIDs of every year, ids seen in files) -> eCQM id."""
        found: dict[str, str] = {}
        for m in self:
            found.update({v: m.ecqm_id for v in m.qrda_version_ids})
            found.update({y.e_measure_uuid: m.ecqm_id for y in m.years.values() if y.e_measure_uuid})
        for o in self.other_ecqms:
            found.update({v: o.ecqm_id for v in o.version_ids})
        return found

    def title_prefixes(self) -> tuple[tuple[str, str], ...]:
        """(normalised title prefix, eCQM id): measure titles as QRDA-I files give them."""
        pairs = [(p, m.ecqm_id) for m in self for p in m.qrda_title_prefixes]
        pairs += [(p, o.ecqm_id) for o in self.other_ecqms for p in o.title_prefixes]
        return tuple(pairs)

    @classmethod
    def from_file(cls, path: Path) -> MeasureCatalog:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_json(
        cls, data: dict[str, Any], published: dict[int, QppMeasureSet] | None = None
    ) -> MeasureCatalog:
        """The catalog from measures.json content; the per-year facts from ``published`` (year ->
        CMS's measure set), by default the bundled qpp-measures-data of the years the measures cover."""
        try:
            parsed = _CatalogFile.model_validate(data)
        except ValidationError as exc:
            raise CatalogError(f"measures.json is invalid: {exc}") from None
        years = sorted({y for m in parsed.measures for y in m.performance_years})
        if published is None:
            published = {y: _bundled_measure_set(y) for y in years}
        measures = [
            m.model_copy(
                update={"years": {y: _year_facts(m, y, published.get(y)) for y in m.performance_years}}
            )
            for m in parsed.measures
        ]
        return cls(measures, parsed.other_ecqms)


def _bundled_measure_set(year: int) -> QppMeasureSet:
    try:
        return qpp_measures(year)
    except MeasureDataNotFoundError as exc:
        raise CatalogError(str(exc)) from None


def _year_facts(measure: MeasureDefinition, year: int, published: QppMeasureSet | None) -> MeasureYear:
    entry = published.get(measure.quality_id) if published is not None else None
    if entry is None:
        raise CatalogError(
            f"measure {measure.id} ({measure.quality_id}) is not in CMS's {year} measures data"
        )
    override = measure.year_overrides.get(year, YearOverride())
    collection_types = override.collection_types or measure.collection_types
    if not set(collection_types) <= set(measure.collection_types):
        raise CatalogError(
            f"measure {measure.id}: {year} collection types {collection_types} are not the measure's"
        )
    mcqm = published.get(measure.mcqm_quality_id) if published is not None else None
    if "MCQM" in collection_types and mcqm is None:
        raise CatalogError(
            f"measure {measure.id}: {measure.mcqm_quality_id} is not in CMS's {year} measures data"
        )
    if entry.inverse != measure.inverse:
        raise CatalogError(
            f"measure {measure.id}: inverse is {measure.inverse} but CMS's {year} data says {entry.inverse}"
        )
    if entry.population_uuids and entry.defines_exceptions != measure.has_exceptions:
        raise CatalogError(
            f"measure {measure.id}: has_exceptions is {measure.has_exceptions} but CMS's {year} population "
            "UUIDs say otherwise"
        )
    version = entry.e_measure_id
    if "eCQM" in collection_types and not (version and _alias_key(version) == _alias_key(measure.ecqm_id)):
        raise CatalogError(
            f"measure {measure.id}: CMS's {year} eMeasureId {version!r} is not {measure.ecqm_id}"
        )
    if set(measure.year_overrides) - set(measure.performance_years):
        raise CatalogError(f"measure {measure.id}: year_overrides for a year it does not cover")
    return MeasureYear(
        performance_year=year,
        collection_types=tuple(collection_types),
        not_published=frozenset(override.not_published),
        has_exceptions=measure.has_exceptions,
        submission=entry,
        mcqm_submission=mcqm if "MCQM" in collection_types else None,
    )


@lru_cache(maxsize=4096)  # called per template row with a handful of distinct texts
def _alias_key(text: str) -> str:
    key = text.strip().upper().replace(" ", "")
    key = re.sub(r"^(CMS\d+)V\d+$", r"\1", key)  # CMS122v13 -> CMS122
    if key.isdigit():
        key = key.zfill(3)
    return key


@cache
def default_catalog() -> MeasureCatalog:
    text = resources.files("aco_sync").joinpath("data/measures.json").read_text(encoding="utf-8")
    return MeasureCatalog.from_json(json.loads(text))
