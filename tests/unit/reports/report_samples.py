"""A realistic sync for report tests: three member clinics, eCQM, CQM and MCQM instances."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.outcome_codes import DENOMINATOR_ONLY, EXCEPTION, EXCLUSION, MET, NOT_MET
from aco_sync.domain.records import CollectionType, MeasureStats, PatientOutcome, Performance, SyncLogEntry
from aco_sync.domain.settings import AcoSettings, MemberClinic
from aco_sync.domain.stats import build_measure_stats
from aco_sync.reports import ReportInputs
from aco_sync.scoring.clinic_stats import compute_clinic_stats

TINS = ("111111111", "222222222", "333333333")
SETTINGS = AcoSettings(
    aco_id="A1234",
    name="Lakeside Health ACO",
    performance_year=2025,
    member_clinics=[
        MemberClinic(tin=TINS[0], name="Lakeside Family Medicine"),
        MemberClinic(tin=TINS[1], name="Northshore Internal Medicine"),
        MemberClinic(tin=TINS[2], name="Riverbend Primary Care"),
    ],
    mcqm_opt_in=True,
    apm_entity_id="A1234",
    cehrt_id="0015CABCDEFGHIJ",
)

# measure, collection type, met, not met, exclusions, exceptions, denominator-only
PLAN = (
    ("M001", CollectionType.ECQM, 30, 170, 6, 0, 4),  # inverse: 15.00% poor control
    ("M112", CollectionType.ECQM, 160, 60, 12, 0, 8),
    ("M236", CollectionType.ECQM, 345, 115, 20, 0, 10),  # 75.00%
    ("M134", CollectionType.CQM, 120, 30, 0, 5, 70),  # data completeness below 75%
    ("M113", CollectionType.CQM, 12, 3, 1, 0, 0),  # below the case minimum
    ("M236", CollectionType.MCQM, 150, 40, 5, 0, 5),
    ("M113", CollectionType.MCQM, 90, 30, 0, 0, 0),  # no 113SSP benchmark for 2025
)


def _outcomes() -> list[PatientOutcome]:
    outcomes = []
    counter = 0
    kinds = (
        Performance.MET,
        Performance.NOT_MET,
        Performance.DENOMINATOR_EXCLUSION,
        Performance.DENOMINATOR_EXCEPTION,
        Performance.DENOMINATOR_ONLY,
    )
    for measure, collection_type, *counts in PLAN:
        for kind, count in zip(kinds, counts, strict=True):
            for _ in range(count):
                counter += 1
                tins = (TINS[counter % 3],) if counter % 7 else (TINS[0], TINS[1])
                outcomes.append(
                    PatientOutcome(
                        master_pat_id=f"MP{counter % 700:06d}",
                        measure_id=measure,
                        collection_type=collection_type,
                        outcome=kind,
                        performance_date=date(2025, 1 + counter % 12, 1 + counter % 28),
                        source_tins=tins,
                    )
                )
    return outcomes


def _stats(outcomes: list[PatientOutcome]) -> list[MeasureStats]:
    catalog = default_catalog()
    result = []
    for measure, collection_type, met, not_met, excl, excep, only in PLAN:
        eligible = met + not_met + excl + excep + only
        by_tin: dict[str, int] = {}
        for o in outcomes:
            if o.measure_id == measure and o.collection_type == collection_type:
                for tin in o.source_tins:
                    by_tin[tin] = by_tin.get(tin, 0) + 1
        counts = {MET: met, NOT_MET: not_met, EXCLUSION: excl, EXCEPTION: excep, DENOMINATOR_ONLY: only}
        stats = build_measure_stats(
            measure,
            collection_type,
            outcome_counts=counts,
            patients_by_tin=by_tin,
            inverse=catalog.get(measure).inverse,
            roster_coverage=41.5 if collection_type == CollectionType.MCQM else None,
        )
        rate = round(100 * met / (met + not_met), 2)
        completeness = round(100 * (met + not_met + excl + excep) / eligible, 2)
        result.append(replace(stats, performance_rate=rate, data_completeness=completeness))
    return result


def sample_inputs(**overrides: object) -> ReportInputs:
    outcomes = _outcomes()
    inputs = ReportInputs(
        settings=SETTINGS,
        sync_id="sync-20251124-0600",
        generated_at=datetime(2025, 11, 24, 6, 12, tzinfo=UTC),
        stats=_stats(outcomes),
        outcomes=outcomes,
        log=[
            SyncLogEntry(
                kind="halt",
                message="ACO aggregation for measure M134 cannot proceed due to missing Medicare roster",
                level="error",
                measure_id="M134",
            ),
            SyncLogEntry(
                kind="skip",
                message="Patient MP000042 skipped because more than one roster match was found",
                level="warning",
                measure_id="M236",
            ),
            SyncLogEntry(kind="removal", message="Removed 3 aggregate encounters whose source row is gone"),
            SyncLogEntry(
                kind="ingest_error",
                message="Invalid birth date '1950-13-01'",
                level="error",
                tin=TINS[2],
                file="templates/m236.csv",
                line=17,
            ),
            SyncLogEntry(kind="collection_type", message="M236 aggregated to eCQM"),
        ],
        clinic_statuses=[
            {
                "tin": TINS[0],
                "name": "Lakeside Family Medicine",
                "status": "Sync Complete",
                "reason": None,
                "last_synced": "2025-11-24 06:10 UTC",
            },
            {
                "tin": TINS[1],
                "name": "Northshore Internal Medicine",
                "status": "Sync Complete",
                "reason": None,
                "last_synced": "2025-11-24 06:11 UTC",
            },
            {
                "tin": TINS[2],
                "name": "Riverbend Primary Care",
                "status": "Sync Failed",
                "reason": "QRDA file qrda/batch7.zip is not a valid zip archive",
                "last_synced": "2025-11-23 06:09 UTC",
            },
        ],
        clinic_stats=compute_clinic_stats(outcomes, catalog=default_catalog()),
        roster_size=1250,
    )
    for key, value in overrides.items():
        setattr(inputs, key, value)
    return inputs
