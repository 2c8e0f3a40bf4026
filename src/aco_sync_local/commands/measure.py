"""``aco-sync measure``: calculate the eCQM populations of one patient (a QRDA-I file or a folder of
FHIR R4 resources) and show the performance record each measure becomes."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Any

import click

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.records import IngestIssue, PerformanceRecord
from aco_sync.ecqm.engine import evaluate_all, measurement_period, to_performance_record
from aco_sync.ecqm.fhir import patient_from_fhir, read_fhir_dir
from aco_sync.ecqm.model import ClinicalEntry, PatientModel
from aco_sync.ecqm.populations import Criterion, MeasurePopulations, PopulationVerdict
from aco_sync.ecqm.registry import supported_years
from aco_sync.ecqm.valuesets import ValueSetLibrary, load_value_sets

PLACEHOLDER_TIN = "000000000"
DEFAULT_PERFORMANCE_YEAR = 2025
EVIDENCE_SHOWN = 3  # records listed per criterion in the text output (all of them in --json)


@click.command("measure", short_help="One patient's eCQM populations.")
@click.option(
    "--qrda",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="A QRDA Category I XML file.",
)
@click.option(
    "--fhir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    metavar="DIR",
    help="A folder of FHIR R4 JSON resources (one patient).",
)
@click.option(
    "--performance-year",
    type=click.Choice([str(year) for year in supported_years()]),
    default=None,
    help="The performance year whose eCQM specifications apply (default: the period's year, else 2025).",
)
@click.option("--period-start", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD")
@click.option("--period-end", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD")
@click.option(
    "--value-sets",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    metavar="TSV",
    help="Value set expansions in the bundled TSV format (e.g. your VSAC export), used instead of the "
    "bundled ones (repeat for several files).",
)
@click.option("--tin", default=None, help="TIN for the records (default: the QRDA file's TIN).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def command(
    qrda: Path | None,
    fhir: Path | None,
    performance_year: str | None,
    period_start: Any,
    period_end: Any,
    value_sets: tuple[Path, ...],
    tin: str | None,
    as_json: bool,
) -> int:
    """Calculate the eCQM populations (CMS122/125/130/165/2) of one patient.

    Give --qrda FILE or --fhir DIR. Shows each population (initial population, denominator,
    exclusions, exceptions, numerator), criterion by criterion which held and which did not, the
    records that decided them, and the performance record the measure becomes. The measurement
    period defaults to the calendar year of --performance-year (default 2025).
    """
    if (qrda is None) == (fhir is None):
        raise click.UsageError("give exactly one of --qrda FILE or --fhir DIR")
    year = int(performance_year) if performance_year else None
    try:
        period = _period(
            period_start.date() if period_start else None, period_end.date() if period_end else None, year
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if year is None:  # the period's year when it has specifications, else the default year
        year = period[0].year if period[0].year in supported_years() else DEFAULT_PERFORMANCE_YEAR
    try:
        library = load_value_sets(*value_sets) if value_sets else None
        if qrda is not None:
            result = _from_qrda(qrda, period, year, library, tin)
        else:
            assert fhir is not None
            result = _from_fhir(fhir, period, year, library, tin)
    except (InvalidInputError, ValueError, OSError) as exc:
        click.echo(f"aco-sync measure: {exc}", err=True)
        return 1
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
    else:
        click.echo(render(result), nl=False)
    return 0


def _period(start: date | None, end: date | None, performance_year: int | None = None) -> tuple[date, date]:
    if start is None and end is None:
        return measurement_period(performance_year or DEFAULT_PERFORMANCE_YEAR)
    if start is None or end is None:
        raise ValueError("give both --period-start and --period-end")
    if end < start:
        raise ValueError(f"--period-end {end} is before --period-start {start}")
    return start, end


def _from_qrda(
    path: Path, period: tuple[date, date], year: int, value_sets: ValueSetLibrary | None, tin: str | None
) -> dict:  # type: ignore[type-arg]
    from aco_sync.ecqm.qrda import calculate_qrda_detailed, patient_from_qrda
    from aco_sync.ingest.qrda import parse_qrda

    doc = parse_qrda(path.read_bytes(), file_name=path.name)
    tin = tin or doc.tin or PLACEHOLDER_TIN
    records, issues, results = calculate_qrda_detailed(
        doc,
        tin=tin,
        source_file=path.name,
        performance_year=year,
        period=period,
        value_sets=value_sets,
    )
    patient = patient_from_qrda(doc, value_sets, performance_year=year) if doc.birth_date else None
    reporting = (
        {"start": doc.reporting_period_start.date(), "end": doc.reporting_period_end.date()}
        if doc.reporting_period_start and doc.reporting_period_end
        else None
    )
    return _result("qrda", path, period, patient, results, records, issues, reporting_period=reporting)


def _from_fhir(
    folder: Path, period: tuple[date, date], year: int, value_sets: ValueSetLibrary | None, tin: str | None
) -> dict:  # type: ignore[type-arg]
    if not folder.is_dir():
        raise InvalidInputError(f"{folder} is not a folder of FHIR JSON resources")
    resources = [r for r in read_fhir_dir(folder) if r.get("resourceType") != "MeasureReport"]
    patient = patient_from_fhir(resources)
    results = evaluate_all(patient, period, performance_year=year, value_sets=value_sets)
    tin = tin or PLACEHOLDER_TIN
    records = [
        record
        for measure_id, populations in results.items()
        if (
            record := to_performance_record(
                patient,
                populations,
                tin=tin,
                source_key=f"{tin}:fhir:{folder.name}:{measure_id}",
                source_file=folder.name,
                member_patient_id=patient.patient_id,
            )
        )
        is not None
    ]
    return _result("fhir", folder, period, patient, results, records, [])


def _result(
    kind: str,
    source: Path,
    period: tuple[date, date],
    patient: PatientModel | None,
    results: dict[str, MeasurePopulations],
    records: list[PerformanceRecord],
    issues: list[IngestIssue],
    *,
    reporting_period: dict[str, date] | None = None,
) -> dict[str, Any]:
    catalog = default_catalog()
    by_measure = {r.measure_id: r for r in records}
    measures = []
    for measure_id, populations in results.items():
        definition = catalog.get(measure_id)
        record = by_measure.get(measure_id)
        measures.append(
            {
                "measure_id": measure_id,
                "ecqm_id": definition.ecqm_id,
                "title": definition.title,
                "inverse": definition.inverse,
                "populations": populations.counts(),
                "performance": populations.performance,
                "performance_date": populations.performance_date,
                "note": populations.note,
                "explanation": [_verdict_json(v) for v in populations.verdicts],
                "record": dataclasses.asdict(record) if record else None,
            }
        )
    return {
        "source": {"kind": kind, "path": str(source)},
        "measurement_period": {"start": period[0], "end": period[1]},
        "reporting_period": reporting_period,
        "patient": None
        if patient is None
        else {
            "id": patient.patient_id,
            "birth_date": patient.birth_date,
            "gender": patient.gender,
            "entries": len(patient.entries),
        },
        "measures": measures,
        "issues": [dataclasses.asdict(i) for i in issues],
    }


def render(result: dict[str, Any]) -> str:
    period = result["measurement_period"]
    lines = [f"{result['source']['kind'].upper()} {result['source']['path']}"]
    lines.append(f"Measurement period {period['start']} to {period['end']}")
    if result.get("reporting_period"):
        reporting = result["reporting_period"]
        lines.append(f"Reporting period in the file {reporting['start']} to {reporting['end']}")
    if result["patient"]:
        p = result["patient"]
        lines.append(
            f"Patient {p['id']} (born {p['birth_date']}, gender {p['gender']}, {p['entries']} data entries)"
        )
    lines.append("")
    short = {
        "initial-population": "IP",
        "denominator": "DEN",
        "denominator-exclusion": "DENEX",
        "numerator": "NUM",
        "denominator-exception": "DENEXCEP",
    }
    for m in result["measures"]:
        pops = " ".join(f"{short[k]}={v}" for k, v in m["populations"].items())
        outcome = m["performance"] or "no record (not in the denominator)"
        when = f" on {m['performance_date']}" if m["performance_date"] else ""
        inverse = " [inverse: MET = glycemic status > 9% or missing]" if m["inverse"] else ""
        lines.append(f"{m['measure_id']} {m['ecqm_id']:<7} {pops}  ->  {outcome}{when}{inverse}")
        if m["note"]:
            lines.append(f"    {m['note']}")
        if m["record"]:
            r = m["record"]
            lines.append(
                f"    record {r['source_key']} ({r['collection_type']}, hash {r['content_hash'][:12]})"
            )
        for verdict in m["explanation"]:
            lines.extend(_verdict_lines(verdict))
    for issue in result["issues"]:
        lines.append(f"{issue['severity'].upper()}: {issue['reason']}")
    return "\n".join(lines) + "\n"


def _entry_json(e: ClinicalEntry) -> dict[str, Any]:
    when = e.latest or e.authored_on or e.issued
    return {
        "kind": e.kind.value,
        "id": e.id,
        "date": when.date() if when else None,
        "codes": sorted(f"{code.system} {code.code}" for code in e.codes),
    }


def _criterion_json(criterion: Criterion) -> dict[str, Any]:
    return {
        "name": criterion.name,
        "met": criterion.met,
        "detail": criterion.detail,
        "rule": criterion.rule or None,
        "evidence": [_entry_json(e) for e in criterion.evidence],
        "parts": [_criterion_json(p) for p in criterion.parts],
    }


def _verdict_json(verdict: PopulationVerdict) -> dict[str, Any]:
    return {
        "population": verdict.population,
        "title": verdict.title,
        "member": verdict.member,
        "criteria": [_criterion_json(c) for c in verdict.criteria],
        "failed": [c.name for c in verdict.failed()],
    }


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


def _verdict_lines(verdict: dict[str, Any]) -> list[str]:
    """``Initial population: NOT met`` then its criteria, one a line, nested as the measure combines
    them ("all of" / "any of"), each with the records that decided it."""
    lines = [f"    {verdict['title']}: {_met(verdict['member'])}"]
    criteria = verdict["criteria"]
    if len(criteria) == 1 and criteria[0]["parts"] and criteria[0]["name"] == verdict["title"]:
        top = criteria[0]  # the population's own expression: list its parts under the title
        if top["rule"] == "any" and len(top["parts"]) > 1:
            lines[0] += " (any of)"
        criteria = top["parts"]
    for criterion in criteria:
        lines.extend(_criterion_lines(criterion, depth=1))
    return lines


def _criterion_lines(criterion: dict[str, Any], depth: int) -> list[str]:
    indent = "    " + "  " * depth
    detail = f" ({criterion['detail']})" if criterion["detail"] else ""
    rule = f" ({criterion['rule']} of)" if criterion["rule"] and len(criterion["parts"]) > 1 else ""
    lines = [f"{indent}- {criterion['name']}: {_met(criterion['met'])}{rule}{detail}"]
    evidence = criterion["evidence"]
    for e in evidence[:EVIDENCE_SHOWN]:
        codes = ", ".join(e["codes"][:2])
        lines.append(
            f"{indent}    {e['kind'].replace('_', ' ')} {e['id'] or '(no id)'} {e['date'] or ''} ({codes})"
        )
    if len(evidence) > EVIDENCE_SHOWN:
        lines.append(f"{indent}    ... and {len(evidence) - EVIDENCE_SHOWN} more (see --json)")
    for part in criterion["parts"]:
        lines.extend(_criterion_lines(part, depth + 1))
    return lines
