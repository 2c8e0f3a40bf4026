"""Where each eCQM module registers its logic, per performance year.

A measure module (``aco_sync/ecqm/measures/cms122.py``, ...) calls :func:`register_measure` once: it
registers each performance year the measure supports, with the CQL library it translates, the logic
and the value sets that logic (and the shared libraries it includes) retrieves. The measure catalog
(:mod:`aco_sync.domain.catalog`) checks on load that every eCQM it lists for a year is registered
here for that year.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aco_sync.domain.catalog import CatalogError, MeasureCatalog, default_catalog
from aco_sync.ecqm.context import MeasureContext
from aco_sync.ecqm.populations import Criteria
from aco_sync.ecqm.valuesets import bundled_value_sets

MeasureLogic = Callable[[MeasureContext], Criteria]


@dataclass(frozen=True, slots=True)
class EcqmSpecification:
    """One eCQM's logic for one performance year."""

    measure_id: str  # catalog id, e.g. M001
    cms_id: str  # e.g. CMS122
    performance_year: int
    cql_library: str  # the CQL library (name and version) the logic translates
    logic: MeasureLogic
    value_sets: tuple[str, ...]  # every value set the logic retrieves by name


_SPECIFICATIONS: dict[tuple[str, int], EcqmSpecification] = {}


def catalog_id(cms_id: str) -> str:
    """The catalog id (M001 ...) of an eCQM (CMS122 ...): the measure registry holds the mapping."""
    measure = default_catalog().resolve(cms_id)
    if measure is None or measure.ecqm_id != cms_id:
        raise CatalogError(f"eCQM {cms_id} is not in the measure catalog (aco_sync/data/measures.json)")
    return measure.id


def register(spec: EcqmSpecification) -> EcqmSpecification:
    key = (spec.measure_id, spec.performance_year)
    if key in _SPECIFICATIONS:
        raise ValueError(f"eCQM logic for {spec.measure_id} PY{spec.performance_year} registered twice")
    if not spec.value_sets:
        raise ValueError(f"eCQM logic for {spec.measure_id} PY{spec.performance_year} names no value sets")
    _SPECIFICATIONS[key] = spec
    return spec


def register_measure(
    measure_id: str, cms_id: str, years: Mapping[int, tuple[str, MeasureLogic, tuple[str, ...]]]
) -> None:
    """Register one eCQM for every performance year it supports: ``years`` maps each year to the CQL
    library the logic translates, the logic and the value sets it retrieves."""
    for year, (cql_library, logic, value_sets) in years.items():
        register(EcqmSpecification(measure_id, cms_id, year, cql_library, logic, value_sets))


def specification(measure_id: str, performance_year: int) -> EcqmSpecification:
    _load_measures()
    try:
        return _SPECIFICATIONS[(measure_id, performance_year)]
    except KeyError:
        raise KeyError(
            f"no eCQM logic for measure {measure_id!r} in performance year {performance_year}; "
            f"registered: {', '.join(supported_measures(performance_year)) or 'none'}"
        ) from None


def supported_measures(performance_year: int) -> tuple[str, ...]:
    """The catalog ids with eCQM logic registered for the year."""
    _load_measures()
    return tuple(sorted(m for m, year in _SPECIFICATIONS if year == performance_year))


def supported_years() -> tuple[int, ...]:
    _load_measures()
    return tuple(sorted({year for _, year in _SPECIFICATIONS}))


def all_specifications() -> list[EcqmSpecification]:
    _load_measures()
    return [_SPECIFICATIONS[k] for k in sorted(_SPECIFICATIONS)]


def required_value_sets(measure_ids: tuple[str, ...] | list[str], performance_year: int) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for measure_id in measure_ids:
        names.update(dict.fromkeys(specification(measure_id, performance_year).value_sets))
    return tuple(names)


def check_catalog(catalog: MeasureCatalog) -> None:
    """Raise CatalogError unless the registered logic and the catalog agree: every eCQM the catalog
    lists for a year has logic for that year (for the same eCQM id) whose value sets are bundled for
    the year, and no logic is registered for a measure/year the catalog does not collect as an eCQM."""
    problems = []
    wanted = {(m.id, year): m for year in catalog.performance_years for m in catalog.ecqm_measures(year)}
    for (measure_id, year), measure in sorted(wanted.items()):
        spec = _SPECIFICATIONS.get((measure_id, year))
        if spec is None:
            problems.append(f"{measure_id} ({measure.ecqm_id}) PY{year} has no registered eCQM logic")
            continue
        if spec.cms_id != measure.ecqm_id:
            problems.append(f"{measure_id} PY{year}: logic for {spec.cms_id}, catalog says {measure.ecqm_id}")
        missing = bundled_value_sets(year).missing(spec.value_sets)
        if missing:
            problems.append(f"{measure_id} PY{year}: value sets not bundled: {', '.join(missing)}")
    extra = sorted(set(_SPECIFICATIONS) - set(wanted))
    problems += [f"eCQM logic for {m} PY{y} but the catalog does not collect it as an eCQM" for m, y in extra]
    if problems:
        raise CatalogError("measure registry and eCQM logic disagree: " + "; ".join(problems))


_checked = False


def _load_measures() -> None:
    # importing the package imports every measure module, each of which registers itself; the first
    # load then checks the registrations against the measure catalog and fails loudly if they disagree
    global _checked
    import aco_sync.ecqm.measures  # noqa: F401

    if not _checked:
        check_catalog(default_catalog())
        _checked = True
