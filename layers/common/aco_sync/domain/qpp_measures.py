"""What CMS publishes about each measure for a performance year: the submission facts.

The one reader of the bundled qpp-measures-data files: the measure registry
(:mod:`aco_sync.domain.catalog`) takes its per-year facts of the catalog measures from here, the
submission files and APP Plus scoring read the other measures' facts (321, 479, 484) here too.

One accessor over the bundled CMSgov/qpp-measures-data selection
(``aco_sync/data/benchmarks/qpp_measures_<year>_selected.json``, copied from
``measures/<year>/measures-data.json``): for a QPP measure id (``"001"``, ``"001SSP"``, ``"321"``) the
programs it is allowed in (``allowedPrograms``: ``mips``, ``app1``, ``appPlus``, MVP ids), its
submission methods (``submissionMethods``: ``electronicHealthRecord``, ``registry``, ...), the eCQM id
and version-specific measure UUID (``eMeasureId``, ``eMeasureUuid``), its population UUIDs
(``strata[0].eMeasureUuids``) and so whether the eCQM defines denominator exceptions, its metric type
and direction. A performance year that is not bundled raises :class:`MeasureDataNotFoundError`; a year
whose file carries no ``eMeasureUuid`` (qpp-measures-data 2026 as of v11.1.0) has no QRDA III
identifiers, which :meth:`QppMeasureSet.missing_qrda3_identifiers` reports.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from aco_sync.domain.errors import MeasureDataNotFoundError

SELECTION_FOLDER = "data/benchmarks"  # the bundled selections of qpp-measures-data, per kind and year
_SELECTION_NAME = re.compile(r"^qpp_(?P<kind>[a-z]+)_(?P<year>\d{4})_selected\.json$")
SOURCE = "CMSgov/qpp-measures-data measures/{year}/measures-data.json (bundled selection)"


@dataclass(frozen=True, slots=True)
class QppMeasure:
    """One measure of one performance year, as qpp-measures-data publishes it."""

    measure_id: str
    performance_year: int
    title: str
    allowed_programs: frozenset[str]
    submission_methods: frozenset[str]
    metric_type: str | None = None
    inverse: bool = False
    e_measure_id: str | None = None  # "CMS122v13"
    e_measure_uuid: str | None = None  # version-specific measure id (QRDA III externalDocument/id)
    population_uuids: dict[str, str] = field(default_factory=dict)  # initialPopulationUuid, ...
    seven_point_cap_removed: bool = False  # isSevenPointCapRemoved: no 7-point cap even when topped out

    def allows(self, program_name: str, submission_method: str) -> bool:
        return program_name in self.allowed_programs and submission_method in self.submission_methods

    @property
    def defines_exceptions(self) -> bool:
        """The eCQM has a denominator-exception population (CMS2 does; CMS122/125/130/165 do not)."""
        return "denominatorExceptionUuid" in self.population_uuids


@dataclass(frozen=True, slots=True)
class QppMeasureSet:
    performance_year: int
    measures: dict[str, QppMeasure]
    source: str

    def get(self, measure_id: str) -> QppMeasure | None:
        return self.measures.get(measure_id.upper())

    def allows(self, measure_id: str, program_name: str, submission_method: str) -> bool:
        measure = self.get(measure_id)
        return measure is not None and measure.allows(program_name, submission_method)

    def not_allowed_reason(self, measure_id: str, program_name: str, submission_method: str) -> str | None:
        """None when CMS accepts the measure for the program and method this year, else why not."""
        measure = self.get(measure_id)
        year = self.performance_year
        if measure is None:
            return f"measure {measure_id} is not in CMS's {year} measure data"
        if program_name not in measure.allowed_programs:
            return f"CMS does not allow measure {measure_id} for program {program_name} in {year}"
        if submission_method not in measure.submission_methods:
            return f"CMS does not accept measure {measure_id} through {submission_method} in {year}"
        return None

    def missing_qrda3_identifiers(self, measure_ids: list[str]) -> list[str]:
        """The eCQMs among ``measure_ids`` without a published version UUID or population UUIDs."""
        missing = []
        for measure_id in measure_ids:
            measure = self.get(measure_id)
            if measure is None or not measure.e_measure_uuid or not measure.population_uuids:
                missing.append(measure_id)
        return missing


def _parse(entry: dict[str, Any], year: int) -> QppMeasure:
    strata = entry.get("strata") or []
    uuids = (strata[0].get("eMeasureUuids") or {}) if strata else {}
    return QppMeasure(
        measure_id=str(entry["measureId"]).upper(),
        performance_year=year,
        title=str(entry.get("title") or ""),
        allowed_programs=frozenset(entry.get("allowedPrograms") or ()),
        submission_methods=frozenset(entry.get("submissionMethods") or ()),
        metric_type=entry.get("metricType"),
        inverse=bool(entry.get("isInverse", False)),
        e_measure_id=entry.get("eMeasureId"),
        e_measure_uuid=entry.get("eMeasureUuid"),
        population_uuids={k: str(v) for k, v in uuids.items() if isinstance(v, str)},
        seven_point_cap_removed=bool(entry.get("isSevenPointCapRemoved", False)),
    )


def selection_name(kind: str, performance_year: int) -> str:
    """The package path of the bundled qpp-measures-data selection of ``kind`` (measures, benchmarks)."""
    return f"{SELECTION_FOLDER}/qpp_{kind}_{performance_year}_selected.json"


def bundled_selection_years(kind: str) -> list[int]:
    """The performance years whose ``kind`` selection (measures, benchmarks) is bundled."""
    folder = resources.files("aco_sync").joinpath(SELECTION_FOLDER)
    names = (_SELECTION_NAME.match(item.name) for item in folder.iterdir())
    return sorted(int(m["year"]) for m in names if m and m["kind"] == kind)


def bundled_selection(kind: str, performance_year: int) -> Any:
    """The parsed bundled ``kind`` selection of the year; None when that year's is not bundled."""
    resource = resources.files("aco_sync").joinpath(selection_name(kind, performance_year))
    return json.loads(resource.read_text(encoding="utf-8")) if resource.is_file() else None


def bundled_measure_years() -> list[int]:
    return bundled_selection_years("measures")


@cache
def qpp_measures(performance_year: int) -> QppMeasureSet:
    """The bundled measures data of the year; MeasureDataNotFoundError when CMS's data is not bundled."""
    entries = bundled_selection("measures", performance_year)
    if entries is None:
        raise MeasureDataNotFoundError(
            f"No CMS measure data (qpp-measures-data) is bundled for performance year {performance_year} "
            f"(bundled: {', '.join(map(str, bundled_measure_years()))}); ACO Sync does not use another "
            "year's measure ids."
        )
    return measure_set_from_entries(entries, performance_year, source=SOURCE.format(year=performance_year))


def measure_set_from_entries(
    entries: list[dict[str, Any]], performance_year: int, *, source: str
) -> QppMeasureSet:
    """A measure set from qpp-measures-data entries (the bundled file's, or a test's)."""
    measures = {m.measure_id: m for m in (_parse(e, performance_year) for e in entries)}
    return QppMeasureSet(performance_year=performance_year, measures=measures, source=source)
