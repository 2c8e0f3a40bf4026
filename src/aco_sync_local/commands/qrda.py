"""``aco-sync qrda <file>... [--json]``: show what ACO Sync reads from QRDA Category I files.

Prints, for each document (an ``.xml``, or each member of a ``.zip``), the patient, identifiers,
TIN/NPIs, reporting period, measures, entry counts by kind and warnings, or why it was rejected.
The patient's name and birth date are printed on the user's own screen (their data); they are
never logged. Exit code 1 when any document was rejected or a file could not be read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from aco_sync.domain.qrda_document import QrdaDocument
from aco_sync.domain.records import IngestIssue
from aco_sync.ingest.qrda import read_qrda_upload


@click.command("qrda", short_help="What a sync reads from QRDA-I files.")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="FILE...")
@click.option("--json", "as_json", is_flag=True, help="Print the extracted data as JSON.")
def command(files: tuple[Path, ...], as_json: bool) -> int:
    """Show what is extracted from QRDA Category I files (or why they are rejected).

    Reads each FILE (.xml, a .zip of many, or a folder of them) exactly as a sync would and prints the
    patient, identifiers, TIN/NPIs, reporting period, measures, entry counts and warnings. Exit code 1
    when a document was rejected or a file could not be read.
    """
    results: list[dict[str, Any]] = []
    paths: list[Path] = []
    for path in files:
        if path.is_dir():
            paths.extend(
                sorted(p for p in path.rglob("*") if p.suffix.lower() in (".xml", ".zip") and p.is_file())
            )
        else:
            paths.append(path)
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            results.append(
                {"file": str(path), "status": "rejected", "reason": f"cannot read the file: {exc.strerror}"}
            )
            continue
        for item in read_qrda_upload(path.name, data):
            results.append(describe(item))
    if as_json:
        click.echo(json.dumps(results, indent=2, default=str))
    else:
        click.echo("\n\n".join(render(result) for result in results))
    return 1 if any(r["status"] == "rejected" for r in results) else 0


def describe(item: QrdaDocument | IngestIssue) -> dict[str, Any]:
    """A JSON-able description of one read result."""
    if isinstance(item, IngestIssue):
        return {
            "file": item.file,
            "status": "rejected",
            "reason": item.reason,
            "line": item.line,
            "code": item.code,
        }
    doc = item
    return {
        "file": doc.file_name,
        "status": "ok",
        "patient": {
            "given_names": list(doc.given_names),
            "family_name": doc.family_name,
            "birth_date": doc.birth_date.isoformat() if doc.birth_date else None,
            "gender": str(doc.gender),
            "gender_code": _code(doc.gender_code),
        },
        "identifiers": {
            "mbi": doc.mbi,
            "hicn": doc.hicn,
            "other": [{"root": i.root, "extension": i.extension} for i in doc.other_ids],
        },
        "tins": list(doc.tins),
        "npis": list(doc.npis),
        "reporting_period": {
            "start": doc.reporting_period_start.isoformat() if doc.reporting_period_start else None,
            "end": doc.reporting_period_end.isoformat() if doc.reporting_period_end else None,
        },
        "measures": [
            {
                "ecqm_id": m.ecqm_id,
                "catalog_measure_id": m.catalog_measure_id,
                "title": m.title,
                "version_specific_id": m.version_specific_id,
                "set_id": m.set_id,
                "version_number": m.version_number,
            }
            for m in doc.measures
        ],
        "document_templates": [str(t) for t in doc.document_templates],
        "entry_counts": doc.entry_counts(),
        "entries_total": len(doc.entries),
        "warnings": [{"message": w.message, "line": w.line, "code": w.code} for w in doc.warnings],
    }


def _code(code: Any) -> str | None:
    if code is None:
        return None
    parts = [f"{c.code}@{c.system}" for c in code.all_codes()]
    if code.null_flavor:
        parts.insert(0, f"nullFlavor={code.null_flavor}")
    return ", ".join(parts) or None


def _when(iso: str | None) -> str:
    if not iso:
        return "?"
    return iso.removesuffix("T00:00:00").replace("T", " ")


def render(result: dict[str, Any]) -> str:
    if result["status"] == "rejected":
        where = f" (line {result['line']})" if result.get("line") else ""
        return f"{result['file']}: REJECTED{where}\n  {result['reason']}"
    patient = result["patient"]
    ids = result["identifiers"]
    period = result["reporting_period"]
    lines = [
        f"{result['file']}: OK",
        f"  Patient:   {' '.join(patient['given_names'])} {patient['family_name']}, "
        f"born {patient['birth_date']}, gender {patient['gender']}"
        + (f" ({patient['gender_code']})" if patient["gender_code"] else ""),
        f"  MBI:       {ids['mbi'] or '-'}    HICN: {ids['hicn'] or '-'}",
    ]
    for other in ids["other"]:
        lines.append(f"  Other id:  {other['extension'] or ''} (root {other['root']})")
    lines.append(
        f"  TIN:       {', '.join(result['tins']) or '-'}    NPI: {', '.join(result['npis']) or '-'}"
    )
    lines.append(f"  Period:    {_when(period['start'])} to {_when(period['end'])}")
    if not result["measures"]:
        lines.append("  Measures:  none referenced")
    for measure in result["measures"]:
        name = measure["ecqm_id"] or "unrecognised"
        scope = (
            f" -> {measure['catalog_measure_id']}"
            if measure["catalog_measure_id"]
            else " (not reported by ACO Sync)"
        )
        version = f" v{measure['version_number']}" if measure["version_number"] else ""
        lines.append(f"  Measure:   {name}{version}{scope}: {measure['title'] or '(no title)'}")
    counts = ", ".join(f"{kind} {count}" for kind, count in result["entry_counts"].items()) or "none"
    lines.append(f"  Entries:   {result['entries_total']} ({counts})")
    for warning in result["warnings"]:
        where = f" (line {warning['line']})" if warning["line"] else ""
        lines.append(f"  Warning:   {warning['message']}{where}")
    return "\n".join(lines)
