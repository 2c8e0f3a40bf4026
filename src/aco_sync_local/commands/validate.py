"""``aco-sync validate <folder> [--json] [--strict]``: check an upload folder without syncing.

The folder is laid out like the data bucket (``config/acos/``, ``rosters/<aco>/<py>/``,
``members/<aco>/<tin>/``). Every file is read exactly as a sync reads it (QRDA-I files also go
through the eCQM engine), and every problem is reported with file and row/line. Exit code 1 when
errors were found (with ``--strict``, warnings too).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pydantic import ValidationError

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.records import IngestIssue
from aco_sync.domain.settings import AcoSettings


@dataclass
class FolderReport:
    folder: str
    issues: list[IngestIssue] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)  # one line per file group, no PHI

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity != "error")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check an upload folder (rosters, templates, provider lists, QRDA-I) without syncing",
        description="Reads every file of FOLDER (laid out like the data bucket: config/acos/<aco>.json, "
        "rosters/<aco>/<py>/, members/<aco>/<tin>/) as a sync would and reports every problem with "
        "file and row. Nothing is uploaded or synced.",
    )
    parser.add_argument("folder", type=Path, help="folder laid out like the data bucket")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    if not folder.is_dir():
        print(f"aco-sync: error: {folder} is not a folder")
        return 2
    report = validate_folder(folder)
    if args.json:
        print(
            json.dumps(
                {
                    "folder": report.folder,
                    "errors": report.errors,
                    "warnings": report.warnings,
                    "summary": report.summary,
                    "issues": [asdict(i) for i in report.issues],
                },
                indent=2,
            )
        )
    else:
        print(render(report))
    failed = report.errors or (args.strict and report.warnings)
    return 1 if failed else 0


def validate_folder(folder: Path) -> FolderReport:
    # imported here: the readers' loggers must be created after the CLI has configured Powertools
    from aco_sync.ecqm import calculate_qrda
    from aco_sync.ingest.clinic import read_clinic_files
    from aco_sync.ingest.roster import read_roster

    report = FolderReport(folder=str(folder))
    catalog = default_catalog()
    files = {
        str(p.relative_to(folder).as_posix()): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")  # OS metadata (.DS_Store), editor swap files
    }
    settings: dict[str, AcoSettings] = {}
    for name, path in files.items():
        parts = name.split("/")
        if len(parts) == 3 and parts[:2] == ["config", "acos"] and name.endswith(".json"):
            try:
                aco = AcoSettings.model_validate_json(path.read_bytes())
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()
                )
                report.issues.append(
                    IngestIssue(
                        file=name, reason=f"Invalid ACO settings: {problems}.", code="invalid_settings"
                    )
                )
                continue
            if aco.aco_id != parts[2].removesuffix(".json"):
                report.issues.append(
                    IngestIssue(
                        file=name,
                        reason=f"aco_id {aco.aco_id!r} does not match the file name.",
                        code="invalid_settings",
                    )
                )
            settings[aco.aco_id] = aco
            report.summary.append(f"{name}: ACO {aco.aco_id}, performance year {aco.performance_year}, "
                                  f"{len(aco.member_clinics)} member clinics")  # fmt: skip

    members: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    for name, path in files.items():
        parts = name.split("/")
        if parts[0] == "config" and len(parts) == 3:
            continue
        if parts[0] == "rosters" and len(parts) == 4:
            aco_id, year = parts[1], parts[2]
            if not year.isdigit():
                report.issues.append(
                    IngestIssue(
                        file=name,
                        reason="Rosters go to rosters/<aco_id>/<year>/<file>.",
                        code="misplaced_file",
                    )
                )
                continue
            if aco_id not in settings:
                report.issues.append(
                    IngestIssue(
                        file=name,
                        reason=f"No config/acos/{aco_id}.json for this roster's ACO.",
                        severity="warning",
                        code="unknown_aco",
                    )
                )
            elif int(year) != settings[aco_id].performance_year:
                report.issues.append(
                    IngestIssue(
                        file=name,
                        reason=f"This roster is for {year} but the ACO's performance year is "
                        f"{settings[aco_id].performance_year}; a sync uses the roster of its year.",
                        severity="warning",
                        code="roster_year",
                    )
                )
            result = read_roster(name, path.read_bytes(), catalog=catalog)
            report.issues.extend(result.issues)
            report.summary.append(
                f"{name}: {result.rows_accepted} rows accepted, {result.rows_rejected} rejected"
                + ("" if result.rows_accepted else " (would not become the active roster)")
            )
        elif parts[0] == "members" and len(parts) >= 4:
            members.setdefault((parts[1], parts[2]), []).append(("/".join(parts[3:]), path.read_bytes()))
        elif parts[0] in ("store", "results"):
            continue  # written by syncs, not uploads
        else:
            report.issues.append(
                IngestIssue(
                    file=name,
                    reason="Not in a place ACO Sync reads (config/acos/, rosters/<aco>/<year>/, "
                    "members/<aco>/<tin>/); ignored.",
                    severity="warning",
                    code="misplaced_file",
                )
            )

    for (aco_id, tin), tin_files in sorted(members.items()):
        clinic_aco = settings.get(aco_id)
        if clinic_aco is None:
            report.issues.append(
                IngestIssue(
                    file=f"members/{aco_id}/",
                    reason=f"No config/acos/{aco_id}.json for these member files.",
                    code="unknown_aco",
                )
            )
            continue
        if not re.fullmatch(r"\d{9}", tin):
            report.issues.append(
                IngestIssue(
                    file=f"members/{aco_id}/{tin}/",
                    reason="Member folders are named by the clinic's 9-digit TIN; this folder is ignored.",
                    code="misplaced_file",
                )
            )
            continue
        if clinic_aco.member_clinics and tin not in {c.tin for c in clinic_aco.member_clinics}:
            report.issues.append(
                IngestIssue(
                    file=f"members/{aco_id}/{tin}/",
                    reason=f"TIN {tin} is not a member clinic in config/acos/{aco_id}.json; "
                    "a sync ignores it.",
                    severity="warning",
                    code="unknown_tin",
                    tin=tin,
                )
            )
        data = read_clinic_files(
            tin,
            tin_files,
            performance_year=clinic_aco.performance_year,
            catalog=catalog,
            calculate_qrda=calculate_qrda,
        )
        prefix = f"members/{aco_id}/{tin}/"
        report.issues.extend(
            IngestIssue(
                prefix + i.file if not i.file.startswith("members/") else i.file,
                i.reason,
                i.line,
                i.severity,
                i.code,
                i.tin,
            )
            for i in data.issues
        )
        by_type = Counter(str(r.collection_type) for r in data.records)
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items())) or "no"
        report.summary.append(
            f"{prefix}: {data.files_read} files, {len(data.providers)} providers, {kinds} records, "
            f"{len(data.denominator_counts)} denominator-only counts"
        )
    for aco in settings.values():
        for clinic in aco.member_clinics:
            if (aco.aco_id, clinic.tin) not in members:
                report.issues.append(
                    IngestIssue(
                        file=f"members/{aco.aco_id}/{clinic.tin}/",
                        reason=f"Member clinic {clinic.tin} has no files.",
                        severity="warning",
                        code="no_files",
                        tin=clinic.tin,
                    )
                )
    if not files:
        report.issues.append(
            IngestIssue(file=str(folder), reason="The folder is empty.", code="empty_folder")
        )
    return report


def render(report: FolderReport) -> str:
    lines = [f"Validated {report.folder}", ""]
    lines += [f"  {line}" for line in report.summary]
    if report.issues:
        lines.append("")
        for issue in sorted(report.issues, key=lambda i: (i.file, i.line or 0)):
            where = f"{issue.file}:{issue.line}" if issue.line else issue.file
            lines.append(f"{where}: {issue.severity}: {issue.reason}")
    lines.append("")
    lines.append(
        f"{report.errors} error(s), {report.warnings} warning(s)"
        + ("" if report.issues else ": all files are valid")
    )
    return "\n".join(lines)
