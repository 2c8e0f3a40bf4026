"""The demo ACO generator: layout, determinism, and that every file reads as intended."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.records import ClinicData, CollectionType
from aco_sync.domain.settings import AcoSettings
from aco_sync.ecqm import calculate_qrda
from aco_sync.ingest.clinic import read_clinic_files
from aco_sync.ingest.qrda import parse_qrda
from aco_sync.ingest.roster import read_roster
from aco_sync.ingest.tabular import npi_check_digit_ok, npi_with_check_digit
from aco_sync_local.demo_data import (
    TIN_CQM_A,
    TIN_CQM_B,
    TIN_ECQM,
    TIN_MCQM,
    write_demo_aco,
)

CATALOG = default_catalog()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    assert write_demo_aco(folder) == "demo-aco"
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _clinic(demo: Path, tin: str) -> ClinicData:
    base = demo / "members" / "demo-aco" / tin
    files = [(str(p.relative_to(base)), p.read_bytes()) for p in base.rglob("*") if p.is_file()]
    return read_clinic_files(
        tin, files, performance_year=2025, catalog=CATALOG, calculate_qrda=calculate_qrda
    )


def test_layout_and_settings(demo: Path) -> None:
    settings = AcoSettings.model_validate_json((demo / "config/acos/demo-aco.json").read_text())
    assert settings.performance_year == 2025 and settings.mcqm_opt_in
    assert [c.tin for c in settings.member_clinics] == [TIN_CQM_A, TIN_CQM_B, TIN_MCQM, TIN_ECQM]
    names = set(_files(demo))
    assert "rosters/demo-aco/2025/roster.csv" in names
    for tin in (TIN_CQM_A, TIN_CQM_B, TIN_MCQM, TIN_ECQM):
        assert f"members/demo-aco/{tin}/providers.csv" in names
    assert sum(n.startswith(f"members/demo-aco/{TIN_ECQM}/qrda/") for n in names) >= 5


def test_deterministic_for_a_seed(demo: Path, tmp_path: Path) -> None:
    write_demo_aco(tmp_path / "again")
    assert _files(tmp_path / "again") == _files(demo)
    write_demo_aco(tmp_path / "other", seed=7)
    assert _files(tmp_path / "other") != _files(demo)


def test_roster_has_a_duplicate_name_pair_and_two_bad_rows(demo: Path) -> None:
    result = read_roster(
        "roster.csv", (demo / "rosters/demo-aco/2025/roster.csv").read_bytes(), catalog=CATALOG
    )
    assert result.rows_rejected == 2 and result.rows_accepted >= 30
    identities = Counter((e.first_name, e.last_name, e.birth_date, e.gender) for e in result.entries)
    [(twin, count)] = [(k, n) for k, n in identities.items() if n > 1]
    assert count == 2
    assert (
        len({e.mbi for e in result.entries if (e.first_name, e.last_name, e.birth_date, e.gender) == twin})
        == 2
    )
    mcqm = _clinic(demo, TIN_MCQM)
    assert any((r.first_name, r.last_name, r.birth_date, r.gender) == twin for r in mcqm.records)


def test_every_clinic_reads_with_only_the_intended_errors(demo: Path) -> None:
    a, b, m, e = (_clinic(demo, tin) for tin in (TIN_CQM_A, TIN_CQM_B, TIN_MCQM, TIN_ECQM))
    assert all(len(c.providers) == 3 for c in (a, b, m, e))
    assert all(npi_check_digit_ok(p.npi) for c in (a, b, m, e) for p in c.providers)
    assert a.issues == [] and m.issues == []
    assert sorted(i.code for i in b.issues) == ["invalid_date", "missing_value", "unknown_measure"]
    assert {r.collection_type for r in a.records + b.records} == {CollectionType.CQM}
    assert {r.collection_type for r in m.records} == {CollectionType.MCQM} and len(m.denominator_counts) == 2
    assert {r.measure_id for r in m.records} == {"M001", "M134"}
    assert {r.measure_id for r in a.records + b.records} == {"M001", "M112", "M134", "M236"}
    people_a = {(r.first_name, r.last_name, r.birth_date) for r in a.records}
    people_b = {(r.first_name, r.last_name, r.birth_date) for r in b.records}
    assert len(people_a & people_b) >= 4  # overlapping patients
    errors = [i for i in e.issues if i.severity == "error"]
    assert [(i.file, i.code) for i in errors] == [("qrda/incomplete_record.xml", "missing_birth_date")]


def test_qrda_files_are_cms_ig_style_and_computable(demo: Path) -> None:
    folder = demo / "members/demo-aco" / TIN_ECQM / "qrda"
    documents = [parse_qrda(p.read_bytes(), file_name=p.name) for p in sorted(folder.glob("patient_*.xml"))]
    assert len(documents) >= 8
    for doc in documents:
        assert doc.tins == (TIN_ECQM,) and doc.mbi and doc.warnings == ()
        assert "M113" in doc.catalog_measure_ids
        assert doc.entry_counts()["encounter"] >= 1
    kinds = Counter(k for d in documents for k in d.entry_counts())
    assert kinds["lab_result"] and kinds["physical_exam"] and kinds["diagnosis"] and kinds["procedure"]
    records = _clinic(demo, TIN_ECQM).records
    assert {r.measure_id for r in records} >= {"M001", "M113", "M236"}
    assert {r.collection_type for r in records} == {CollectionType.ECQM}


def test_npi_check_digit() -> None:
    assert npi_with_check_digit("123456789") == "1234567893"
    assert all(npi_check_digit_ok(npi_with_check_digit(f"1{n:08d}")) for n in range(0, 10_000, 7))
