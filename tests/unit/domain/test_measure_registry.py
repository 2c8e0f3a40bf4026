"""The measure registry: one validated catalog keyed by measure and performance year, that fails
loudly on an inconsistency, and is complete for every year it covers (the "add PY2027" checklist of
docs/ECQM.md: logic, value sets, benchmarks and QRDA III identifiers for each measure and year)."""

from __future__ import annotations

import ast
import copy
import json
import re
from importlib import resources
from typing import Any

import pytest

import aco_sync
from aco_sync.domain.catalog import CatalogError, MeasureCatalog, default_catalog
from aco_sync.domain.qpp_measures import QppMeasureSet, qpp_measures
from aco_sync.domain.records import CollectionType
from aco_sync.ecqm import registry
from aco_sync.ecqm.editions import EDITIONS
from aco_sync.ecqm.valuesets import bundled_value_sets
from aco_sync.scoring.benchmarks import load_benchmarks, submission_method_for

CATALOG = default_catalog()


def _measures_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("aco_sync").joinpath("data/measures.json").read_text(encoding="utf-8")
    )
    return data


def _qpp(year: int) -> QppMeasureSet:
    return qpp_measures(year)


def _qpp_all() -> dict[int, QppMeasureSet]:
    return {year: _qpp(year) for year in CATALOG.performance_years}


# ---------------------------------------------------------------- facts per year
def test_the_registry_holds_each_years_facts_from_cms_data() -> None:
    m001 = CATALOG.get("M001")
    assert (m001.quality_id, m001.mcqm_quality_id, m001.ecqm_id) == ("001", "001SSP", "CMS122")
    assert m001.year(2025).ecqm_version == "CMS122v13" and m001.year(2026).ecqm_version == "CMS122v14"
    assert m001.year(2025).e_measure_uuid == "2c928083-8907-ce68-0189-2bc5fa0d0739"
    assert m001.year(2025).inverse and m001.inverse
    assert m001.year(2026).mcqm_submission is not None
    assert m001.year(2026).mcqm_submission.allows("appPlus", "registry")
    assert m001.year(2026).submission.allows("appPlus", "electronicHealthRecord")
    assert CATALOG.get("M134").year(2025).has_exceptions and not m001.year(2025).has_exceptions
    # 113SSP enters the APP Plus set in 2026
    assert "MCQM" not in CATALOG.get("M113").year(2025).collection_types
    assert "MCQM" in CATALOG.get("M113").year(2026).collection_types
    assert CATALOG.get("M113").year(2025).mcqm_submission is None


def test_names_resolve_and_an_empty_name_resolves_to_nothing() -> None:
    for name in ("M001", "001", "1", "001SSP", "CMS122", "CMS122v14", "cms122V13"):
        found = CATALOG.resolve(name)
        assert found is not None and found.id == "M001", name
    assert CATALOG.resolve("") is None and CATALOG.resolve("  ") is None
    assert CATALOG.by_web_interface_name("prev_5").id == "M112"  # type: ignore[union-attr]
    assert CATALOG.resolve("PREV_5") is None  # a Web Interface name is a roster column name only


# ---------------------------------------------------------------- loading fails loudly
def _broken(edit: Any) -> dict[str, Any]:
    data = copy.deepcopy(_measures_json())
    edit(data)
    return data


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["measures"][0].update(ecqm_id=""), "must not be empty"),
        (lambda d: d["measures"][0].update(id=" "), "must not be empty"),
        (lambda d: d["measures"].append(copy.deepcopy(d["measures"][0])), "duplicate measure id"),
        (lambda d: d["measures"][1].update(mcqm_quality_id="001SSP"), "names both"),
        (lambda d: d["other_ecqms"].append({"ecqm_id": "CMS122"}), "duplicate eCQM id"),
        (lambda d: d["measures"][0].update(inverse=False), "inverse"),
        (lambda d: d["measures"][3].update(has_exceptions=False), "has_exceptions"),
        (lambda d: d["measures"][0].update(quality_id="999"), "not in CMS's 2025 measures data"),
        (lambda d: d["measures"][0].update(ecqm_id="CMS999"), "eMeasureId"),
        (lambda d: d["measures"][2].pop("year_overrides"), "113SSP is not in CMS's 2025"),
        (lambda d: d["measures"][0].update(rule="whatever"), "rule"),
        (lambda d: d["measures"][0].update(collection_types=["QRDA"]), "collection types"),
        (
            lambda d: d["measures"][0].update(year_overrides={"2026": {"not_published": ["x"]}}),
            "not_published",
        ),
        (lambda d: d["measures"][0].update(unknown_field=1), "unknown_field"),
    ],
)
def test_an_inconsistent_registry_fails_to_load(edit: Any, message: str) -> None:
    with pytest.raises(CatalogError, match=re.escape(message)):
        MeasureCatalog.from_json(_broken(edit), _qpp_all())


def test_a_year_without_cms_data_fails_to_load() -> None:
    data = _broken(lambda d: d["measures"][0].update(performance_years=[2025, 2031]))
    with pytest.raises(CatalogError, match="2031"):
        MeasureCatalog.from_json(data)


def test_an_ecqm_without_registered_logic_fails_the_check() -> None:
    registry.all_specifications()  # loads the measure modules (and checks the default catalog)
    data = _broken(lambda d: d["measures"][0].update(performance_years=[2024, 2025, 2026]))
    catalog = MeasureCatalog.from_json(data, {2024: _qpp(2024), **_qpp_all()})
    with pytest.raises(CatalogError, match=r"M001 \(CMS122\) PY2024 has no registered eCQM logic"):
        registry.check_catalog(catalog)


def test_logic_the_catalog_does_not_collect_fails_the_check() -> None:
    data = _broken(lambda d: d["measures"][0].update(collection_types=["CQM", "MCQM"]))
    with pytest.raises(CatalogError, match="does not collect it as an eCQM"):
        registry.check_catalog(MeasureCatalog.from_json(data, _qpp_all()))


def test_the_bundled_registry_and_logic_agree() -> None:
    registry.check_catalog(CATALOG)
    for year in CATALOG.performance_years:
        assert set(registry.supported_measures(year)) == {m.id for m in CATALOG.ecqm_measures(year)}


# ---------------------------------------------------------------- completeness ("add PY2027")
YEARS_AND_MEASURES = [(y, m.id) for y in CATALOG.performance_years for m in CATALOG if y in m.years]


@pytest.mark.parametrize(("year", "measure_id"), YEARS_AND_MEASURES)
def test_every_catalog_measure_is_complete_for_each_year(year: int, measure_id: str) -> None:
    """Logic and value sets for each eCQM; a benchmark for each collection type; QRDA III identifiers
    for each eCQM. What CMS has not published for a year must be declared in the registry
    (``year_overrides.<year>.not_published``) and must really be missing: the declaration goes stale
    (and this fails) the day the bundled data gains it."""
    measure = CATALOG.get(measure_id)
    facts = measure.year(year)
    problems = []
    if "eCQM" in facts.collection_types:
        assert year in EDITIONS, f"no eCQM edition (Status library, value sets) for {year}"
        spec = registry.specification(measure_id, year)
        assert spec.cms_id == measure.ecqm_id
        missing = bundled_value_sets(year).missing(spec.value_sets)
        assert not missing, f"{measure_id} PY{year}: value sets not bundled: {missing}"
        has_uuids = facts.has_qrda3_identifiers
        declared = "qrda3_identifiers" in facts.not_published
        if has_uuids == declared:
            problems.append(f"QRDA III identifiers: published={has_uuids}, declared missing={declared}")
    benchmarks = load_benchmarks(year)
    for collection_type in facts.collection_types:
        quality_id = measure.mcqm_quality_id if collection_type == "MCQM" else measure.quality_id
        method = submission_method_for(CollectionType(collection_type))
        present = benchmarks.get(quality_id, method) is not None
        declared = f"benchmark:{collection_type}" in facts.not_published
        if present == declared:
            problems.append(
                f"{collection_type} benchmark ({quality_id}, {method}): "
                f"present={present}, declared missing={declared}"
            )
    assert not problems, f"{measure_id} PY{year}: " + "; ".join(problems)


# ---------------------------------------------------------------- the facts live in one place
def _string_constants(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_measure_facts_are_not_scattered_in_code() -> None:
    """No module of the package spells a measure's identity (catalog id, quality ids, eCQM id or
    version, set id, UUIDs, Web Interface names, QRDA-I titles): they are the registry's. The one
    exception: an eCQM module names the eCQM it implements (its ``CMS_ID``)."""
    facts: set[str] = set()
    for m in CATALOG:
        facts |= {m.id, m.quality_id, m.mcqm_quality_id, m.ecqm_id, *m.web_interface_names}
        facts |= (
            {n.lower() for n in m.web_interface_names} | set(m.qrda_title_prefixes) | set(m.qrda_version_ids)
        )
        facts |= {m.set_id} if m.set_id else set()
        for y in m.years.values():
            facts |= {v for v in (y.ecqm_version, y.e_measure_uuid) if v} | set(y.population_uuids.values())
    for other in CATALOG.other_ecqms:
        facts |= {other.ecqm_id, *other.version_ids, *other.title_prefixes} | (
            {other.set_id} if other.set_id else set()
        )
    facts_upper = {f.upper() for f in facts}
    package = resources.files(aco_sync)
    root = __import__("pathlib").Path(str(package))
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        own = set()
        if relative.startswith("ecqm/measures/cms"):
            own = {"CMS" + path.stem[3:].upper()}
        for line, value in _string_constants(path.read_text(encoding="utf-8")):
            if value.upper() in facts_upper and value.upper() not in own:
                found.append(f"{relative}:{line}: {value!r}")
    assert not found, "measure facts in code (move them to aco_sync/data/measures.json):\n" + "\n".join(found)
