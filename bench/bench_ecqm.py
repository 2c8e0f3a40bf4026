"""Benchmark of the eCQM engine: patients per second through the FHIR and the QRDA-I paths.

- FHIR end to end: the 144 published test-case patients (JSON already loaded) -> FHIR adapter ->
  all five measures (``calculate_fhir``).
- Engine only: the same patients as prebuilt models -> all five measures (``evaluate_all``).
- QRDA-I end to end: the fixture files that reference the five measures, bytes -> ``parse_qrda`` ->
  ``calculate_qrda`` (each file one patient), and ``calculate_qrda`` alone on parsed documents.
- Heavy history: synthetic patients with ~400 entries each (years of visits, labs, blood pressures).

    python bench/bench_ecqm.py            # full: more repetitions
    python bench/bench_ecqm.py --quick    # a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "layers" / "common"))
SHARED = Path(os.environ.get("ACO_SYNC_SHARED_DIR", HERE.parent.parent / "shared"))
PERIOD = (date(2025, 1, 1), date(2025, 12, 31))


def timed(label: str, patients_per_round: int, rounds: int, work: Callable[[], None]) -> dict[str, Any]:
    work()  # warm-up (value sets, imports)
    started = time.perf_counter()
    for _ in range(rounds):
        work()
    elapsed = time.perf_counter() - started
    patients = patients_per_round * rounds
    row = {
        "path": label,
        "patients": patients,
        "seconds": round(elapsed, 3),
        "patients_per_second": round(patients / elapsed),
        "ms_per_patient": round(1000 * elapsed / patients, 3),
    }
    print(f"{label:<44} {patients:>7} patients  {elapsed:7.3f} s  {row['patients_per_second']:>8} patients/s")
    return row


def load_fhir_cases() -> list[list[dict[str, Any]]]:
    cases = []
    for folder in sorted((SHARED / "fixtures" / "ecqm-tests").glob("CMS*/*/")):
        resources = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
        cases.append([r for r in resources if r["resourceType"] != "MeasureReport"])
    return cases


def load_qrda_files() -> list[tuple[str, bytes]]:
    import csv

    manifest = SHARED / "fixtures" / "qrda" / "MANIFEST.tsv"
    rows = list(csv.DictReader(manifest.open(encoding="utf-8"), delimiter="\t"))
    return [
        (r["file"], (manifest.parent / r["file"]).read_bytes())
        for r in rows
        if r["target_measures_referenced"]
    ]


def heavy_patients(count: int, entries_per_year: int = 40, years: int = 10):  # type: ignore[no-untyped-def]
    from aco_sync.domain.records import Gender
    from aco_sync.ecqm.codes import DIASTOLIC_BP, SYSTOLIC_BP, Code
    from aco_sync.ecqm.model import ClinicalEntry, Component, EntryKind, PatientModel, Quantity

    def entry(kind: EntryKind, system: str, code: str, **attributes: Any) -> ClinicalEntry:
        return ClinicalEntry(kind, frozenset({Code(system, code)}), **attributes)

    def on(
        day: datetime, kind: EntryKind, system: str, code: str, status: str, **attributes: Any
    ) -> ClinicalEntry:
        """An entry of ``day`` (ending that moment unless ``attributes`` give its ``end``)."""
        return entry(kind, system, code, status=status, start=day, **{"end": day, **attributes})

    since_2015: dict[str, Any] = {"clinical_status": "active", "start": datetime(2015, 1, 1, tzinfo=UTC)}
    lab_result: dict[str, Any] = {"categories": frozenset({"laboratory"}), "has_value": True}
    patients = []
    for n in range(count):
        entries = [
            entry(EntryKind.CONDITION, "SNOMEDCT", "44054006", **since_2015),
            entry(EntryKind.CONDITION, "SNOMEDCT", "59621000", **since_2015),
        ]
        day = datetime(2025 - years + 1, 1, 3, 9, tzinfo=UTC)
        for i in range(entries_per_year * years // 4):
            day += timedelta(days=365 * years // (entries_per_year * years // 4))
            blood_pressure = (
                Component(frozenset({SYSTOLIC_BP}), Quantity(120 + i % 30)),
                Component(frozenset({DIASTOLIC_BP}), Quantity(70 + i % 25)),
            )
            hba1c = Quantity(6.0 + (i + n) % 5)
            entries += [
                on(day, EntryKind.ENCOUNTER, "CPT", "99213", "finished", end=day + timedelta(minutes=30)),
                on(
                    day, EntryKind.OBSERVATION, "LOINC", "4548-4", "final", value_quantity=hba1c, **lab_result
                ),
                on(day, EntryKind.OBSERVATION, "LOINC", "85354-9", "final", components=blood_pressure),
                on(day, EntryKind.PROCEDURE, "CPT", "99999", "completed"),
            ]
        patients.append(PatientModel(f"h{n}", date(1955 + n % 20, 6, 1), Gender.FEMALE, entries=entries))
    return patients


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a few seconds)")
    quick = parser.parse_args().quick
    rounds = 5 if quick else 40

    from aco_sync.ecqm import calculate_fhir, evaluate_all
    from aco_sync.ecqm.fhir import patient_from_fhir

    print(
        f"eCQM engine, 5 measures per patient, measurement period {PERIOD[0]}..{PERIOD[1]}, "
        f"python {sys.version.split()[0]}"
    )
    rows = []
    if not (SHARED / "fixtures").exists():
        print(f"shared fixtures not found at {SHARED}: FHIR/QRDA paths skipped")
    else:
        cases = load_fhir_cases()
        models = [patient_from_fhir(c) for c in cases]
        rows.append(
            timed(
                "FHIR end to end (adapter + 5 measures)",
                len(cases),
                rounds,
                lambda: [calculate_fhir(c, period=PERIOD) for c in cases] and None,
            )
        )
        rows.append(
            timed(
                "engine only (prebuilt models, 5 measures)",
                len(models),
                rounds,
                lambda: [evaluate_all(m, PERIOD) for m in models] and None,
            )
        )
        try:
            from aco_sync.ecqm import calculate_qrda
            from aco_sync.ingest.qrda import parse_qrda
        except ImportError as exc:
            print(f"QRDA path skipped: {exc}")
        else:
            files = load_qrda_files()
            docs = [parse_qrda(data, file_name=name) for name, data in files]

            def qrda_end_to_end() -> None:
                for name, data in files:
                    calculate_qrda(
                        parse_qrda(data, file_name=name),
                        tin="123456789",
                        source_file=name,
                        performance_year=2025,
                    )

            rows.append(
                timed("QRDA-I end to end (parse + calculate)", len(files), rounds * 4, qrda_end_to_end)
            )
            rows.append(
                timed(
                    "QRDA-I calculate_qrda only (parsed docs)",
                    len(docs),
                    rounds * 4,
                    lambda: (
                        [
                            calculate_qrda(d, tin="123456789", source_file=d.file_name, performance_year=2025)
                            for d in docs
                        ]
                        and None
                    ),
                )
            )
    heavy = heavy_patients(20 if quick else 100)
    size = len(heavy[0].entries)
    rows.append(
        timed(
            f"heavy history (~{size} entries/patient)",
            len(heavy),
            2 if quick else 5,
            lambda: [evaluate_all(p, PERIOD) for p in heavy] and None,
        )
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:.0f} MiB")
    print(json.dumps({"bench": "ecqm", "quick": quick, "rows": rows, "peak_rss_mib": round(peak_mb)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
