"""``aco-sync validate <folder> [--json] [--strict]``: ``run``'s checks, without syncing.

The folder is laid out like the data bucket (``config/acos/``, ``rosters/<aco>/<py>/``,
``members/<aco>/<tin>/``). Every file is read exactly as a sync reads it (QRDA-I files also go
through the eCQM engine), the settings are checked as the start-sync step checks them (unknown keys are
errors), the roster as data validation checks it (a required roster that is missing aborts a sync), and
the measure plan is made as the initial sync makes it (halts, collection-type decisions). Every problem
is reported with file and row/line. Exit code 1 when errors were found (with ``--strict``, warnings too).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import click
from pydantic import ValidationError

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.records import DenominatorCount, IngestIssue, PerformanceRecord
from aco_sync.domain.settings import AcoSettings, settings_problems
from aco_sync.ingest.duplicate_reviews import DECISIONS_FILE, read_duplicate_decisions
from aco_sync_local.commands._common import plural
from aco_sync_local.summary import terminal_safe


@dataclass
class FolderReport:
    folder: str
    issues: list[IngestIssue] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)  # one line per file group, no PHI
    files: list[dict[str, object]] = field(default_factory=list)  # per file: read = accepted + rejected

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity != "error")


@click.command("validate", short_help="Check a folder with run's checks, without syncing.")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="FOLDER")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
def command(folder: Path, as_json: bool, strict: bool) -> int:
    """Check an upload folder with the checks `run` makes, without syncing.

    Reads every file of FOLDER (laid out like the data bucket: config/acos/<aco>.json,
    rosters/<aco>/<year>/, members/<aco>/<tin>/) as a sync would, checks the settings (unknown keys
    are errors), the roster a sync needs and the measure plan, and reports every problem with file and
    row. Nothing is uploaded or synced. Exit code 1 on errors (with --strict, on warnings too).
    """
    report = validate_folder(folder)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "folder": report.folder,
                    "errors": report.errors,
                    "warnings": report.warnings,
                    "summary": report.summary,
                    "files": report.files,
                    "issues": [asdict(i) for i in report.issues],
                },
                indent=2,
            )
        )
    else:
        click.echo(terminal_safe(render(report)))
    failed = report.errors or (strict and report.warnings)
    return 1 if failed else 0


def validate_folder(folder: Path) -> FolderReport:
    # imported here: the readers' loggers must be created after the CLI has configured Powertools
    from aco_sync.ecqm import calculate_qrda
    from aco_sync.ingest.clinic import read_clinic_files
    from aco_sync.ingest.roster import read_roster
    from aco_sync.service.clinic_sync import clinic_input_budget

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
                report.issues.extend(
                    IngestIssue(
                        file=name,
                        reason=f"Invalid ACO settings: {problem}; a sync of this ACO would not start.",
                        code="invalid_settings",
                    )
                    for problem in settings_problems(exc)
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
            if aco.duplicate_tins:
                report.issues.append(
                    IngestIssue(
                        file=name,
                        reason=f"TIN {', '.join(aco.duplicate_tins)} is listed more than once in "
                        "member_clinics; a sync syncs and counts each TIN once.",
                        severity="warning",
                        code="duplicate_tin",
                    )
                )
            report.summary.append(
                f"{name}: ACO {aco.aco_id}, performance year {aco.performance_year}, "
                f"{plural(len(aco.member_clinics), 'member clinic')}"
            )

    members: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    rosters_accepted: dict[tuple[str, int], int] = {}  # (aco, year) -> rows accepted over its files
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
            rosters_accepted[(aco_id, int(year))] = (
                rosters_accepted.get((aco_id, int(year)), 0) + result.rows_accepted
            )
            report.summary.append(
                f"{name}: {result.rows_total} rows read, {result.rows_accepted} accepted, "
                f"{result.rows_rejected} rejected"
                + (" (would not become the active roster)" if result.damaged else "")
            )
            report.files.append(
                {
                    "file": name,
                    "kind": "roster",
                    "read": result.rows_total,
                    "accepted": result.rows_accepted,
                    "rejected": result.rows_rejected,
                    "refused": result.refused,
                    "duplicate_of": None,
                    "tin": None,
                }
            )
        elif parts[0] == "members" and len(parts) >= 4:
            members.setdefault((parts[1], parts[2]), []).append(("/".join(parts[3:]), path.read_bytes()))
        elif parts[0] == "reviews" and len(parts) == 3 and parts[2] == DECISIONS_FILE:
            decisions = read_duplicate_decisions(name, path.read_bytes())
            report.issues.extend(decisions.issues)
            report.summary.append(f"{name}: {plural(len(decisions.decisions), 'reviewed pair')}")
        elif parts[0] in ("store", "results"):
            continue  # written by syncs, not uploads
        else:
            report.issues.append(
                IngestIssue(
                    file=name,
                    reason="Not in a place ACO Sync reads (config/acos/, rosters/<aco>/<year>/, "
                    f"members/<aco>/<tin>/, reviews/<aco>/{DECISIONS_FILE}); ignored.",
                    severity="warning",
                    code="misplaced_file",
                )
            )

    aco_records: dict[str, list[PerformanceRecord]] = {}
    aco_counts: dict[str, list[DenominatorCount]] = {}
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
        if not re.fullmatch(r"[0-9]{9}", tin):
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
            input_budget=clinic_input_budget(clinic_aco),  # the same per-clinic limit as a sync
        )
        aco_records.setdefault(aco_id, []).extend(data.records)
        aco_counts.setdefault(aco_id, []).extend(data.denominator_counts)
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
        for account in data.files:
            entry = account.to_dict()
            entry["file"] = prefix + account.file
            report.files.append(entry)
            report.summary.append(f"{prefix}{account.file}: {account.describe(brief=True)}")
        by_type = Counter(str(r.collection_type) for r in data.records)
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(by_type.items())) or "no"
        report.summary.append(
            f"{prefix}: {plural(data.files_read, 'file')}, {plural(len(data.providers), 'provider')}, "
            f"{kinds} records, {plural(len(data.denominator_counts), 'denominator-only count')}"
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
    for aco in settings.values():
        has_roster = rosters_accepted.get((aco.aco_id, aco.performance_year), 0) > 0
        _check_roster(report, aco, has_roster)
        if not has_roster and aco.roster_required:
            continue  # the sync aborts before it plans the measures
        _check_plan(report, aco, aco_records.get(aco.aco_id, []), aco_counts.get(aco.aco_id, []), has_roster)
    if not files:
        report.issues.append(
            IngestIssue(file=str(folder), reason="The folder is empty.", code="empty_folder")
        )
    return report


def _check_roster(report: FolderReport, aco: AcoSettings, has_roster: bool) -> None:
    """Data validation's check: without an active roster of the performance year a sync aborts (when
    ``roster_required``) or halts the measures that need it."""
    if has_roster:
        return
    where = f"rosters/{aco.aco_id}/{aco.performance_year}/"
    if aco.roster_required:
        report.issues.append(
            IngestIssue(
                file=where,
                reason=f"No usable Medicare roster for {aco.performance_year}: the sync would abort "
                "(MissingRosterError, roster_required is true). Add the roster file here, or set "
                '"roster_required": false in the settings.',
                code="missing_roster",
            )
        )
    else:
        report.issues.append(
            IngestIssue(
                file=where,
                reason=f"No usable Medicare roster for {aco.performance_year}: measures that need one "
                "(MCQM) are halted.",
                severity="warning",
                code="missing_roster",
            )
        )


def _check_plan(
    report: FolderReport,
    aco: AcoSettings,
    records: list[PerformanceRecord],
    counts: list[DenominatorCount],
    has_roster: bool,
) -> None:
    """The measure plan the initial sync would make: halts are errors, instance changes warnings."""
    from aco_sync.domain.collection_types import plan_measures, plan_submissions

    if not records and not counts:
        return
    plan = plan_measures(
        plan_submissions(records, counts),
        has_active_roster=has_roster,
        settings=aco,
        catalog=default_catalog(),
        denominator_count_measures={c.measure_id for c in counts},
    )
    where = f"config/acos/{aco.aco_id}.json"
    for entry in plan.log:
        if entry.level not in ("warning", "error"):
            continue
        report.issues.append(
            IngestIssue(
                file=entry.file or where,
                reason=f"Measure plan: {entry.message}.".replace("..", "."),
                line=entry.line,
                severity="error" if entry.level == "error" or entry.kind == "halt" else "warning",
                code=f"plan_{entry.kind}",
                tin=entry.tin,
            )
        )
    report.summary.append(
        f"measure plan of {aco.aco_id}: "
        + (", ".join(f"{m} {t.value}" for m, t in plan.instances()) or "no measure instance")
    )


def render(report: FolderReport) -> str:
    """Result first, then the errors (what would stop or change the sync), the warnings, what was read."""
    verdict = (
        "all files are valid"
        if not report.issues
        else "fix the errors before syncing"
        if report.errors
        else "a sync would run; review the warnings"
    )
    lines = [
        f"Validated {report.folder}: {plural(report.errors, 'error')}, "
        f"{plural(report.warnings, 'warning')}: {verdict}"
    ]
    for severity, title in (("error", "Errors"), ("warning", "Warnings")):
        group = [i for i in report.issues if (i.severity == "error") == (severity == "error")]
        if not group:
            continue
        lines += ["", f"{title} ({len(group)})"]
        for issue in sorted(group, key=lambda i: (i.file, i.line or 0)):
            where = f"{issue.file}:{issue.line}" if issue.line else issue.file
            lines.append(f"  {where}: {issue.reason}")
    lines += ["", "Read"]
    lines += [f"  {line}" for line in report.summary] or ["  (nothing)"]
    if not report.errors:
        lines += ["", f"Next: aco-sync run {report.folder}"]
    return "\n".join(lines)
