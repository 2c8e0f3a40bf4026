"""The demo ACO's eCQM member clinic: its QRDA-I files, read as the sync reads them, contribute
calculated eCQM performances (the issue's "done means")."""

from __future__ import annotations

from pathlib import Path

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.records import CollectionType, Performance
from aco_sync.ecqm import calculate_qrda
from aco_sync.ingest.clinic import read_clinic_files
from aco_sync_local.demo_data import write_demo_aco


def test_demo_qrda_files_become_ecqm_performances(tmp_path: Path) -> None:
    write_demo_aco(tmp_path)
    qrda_tins = sorted({p.parent.parent for p in tmp_path.glob("members/*/*/qrda/*")})
    assert qrda_tins, "the demo has an eCQM member clinic"
    for tin_dir in qrda_tins:
        files = [
            (str(p.relative_to(tin_dir)), p.read_bytes()) for p in sorted(tin_dir.rglob("*")) if p.is_file()
        ]
        clinic = read_clinic_files(
            tin_dir.name,
            files,
            performance_year=2025,
            catalog=default_catalog(),
            calculate_qrda=calculate_qrda,
        )
        ecqm = [r for r in clinic.records if r.collection_type is CollectionType.ECQM]
        assert len(ecqm) >= 10
        assert {r.measure_id for r in ecqm} >= {"M001", "M113", "M236"}
        assert {r.performance for r in ecqm} >= {Performance.MET, Performance.NOT_MET}
        assert all(r.source_key == f"{tin_dir.name}:qrda:{r.source_file}:{r.measure_id}" for r in ecqm)
        assert len({r.source_key for r in ecqm}) == len(ecqm)
        assert not [i for i in clinic.issues if i.code.startswith("ecqm_") and i.severity == "error"]
