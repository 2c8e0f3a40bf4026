"""The package layering has no cycle between file formats and the eCQM engine: ``aco_sync.ingest``
never imports ``aco_sync.ecqm`` (the QRDA-I calculator is an argument of ``read_clinic_files``), and
``aco_sync.ecqm`` never imports ``aco_sync.ingest``: the QRDA-I document model both use is the shared
contract ``aco_sync.domain.qrda_document``, which imports neither."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import aco_sync

PACKAGE = Path(aco_sync.__file__).parent


def _imports(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):  # every import, also inside functions (no lazy imports)
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _package_imports(package: str) -> dict[str, set[str]]:
    return {
        str(path.relative_to(PACKAGE)): _imports(path) for path in sorted((PACKAGE / package).rglob("*.py"))
    }


def test_ingest_never_imports_the_ecqm_engine() -> None:
    offending = {
        module: sorted(n for n in names if n == "aco_sync.ecqm" or n.startswith("aco_sync.ecqm."))
        for module, names in _package_imports("ingest").items()
    }
    assert not {m: n for m, n in offending.items() if n}, offending


def test_ecqm_never_imports_ingest() -> None:
    offending = {
        module: sorted(n for n in names if n == "aco_sync.ingest" or n.startswith("aco_sync.ingest."))
        for module, names in _package_imports("ecqm").items()
    }
    assert not {m: n for m, n in offending.items() if n}, offending


def test_the_shared_document_model_imports_neither() -> None:
    names = _imports(PACKAGE / "domain" / "qrda_document.py")
    assert not {n for n in names if n.startswith(("aco_sync.ecqm", "aco_sync.ingest"))}


def test_reading_clinic_files_loads_no_ecqm_module() -> None:
    code = (
        "import sys, aco_sync.ingest.clinic, aco_sync.ingest.qrda;"
        "print(sorted(m for m in sys.modules if m.startswith('aco_sync.ecqm')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    code = (
        "import sys, aco_sync.ecqm; print(sorted(m for m in sys.modules if m.startswith('aco_sync.ingest')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_no_lazy_calculator_and_no_silent_fallback() -> None:
    source = (PACKAGE / "ingest" / "clinic.py").read_text(encoding="utf-8")
    assert "ecqm_unavailable" not in source and "_load_calculator" not in source
    assert "__getattr__" not in (PACKAGE / "ecqm" / "__init__.py").read_text(encoding="utf-8")


def test_step_contracts_import_only_pydantic_the_domain_and_each_other() -> None:
    """``aco_sync.contracts`` is what the handlers, the services and the ASL test share: it imports no
    service, adapter or AWS code (so any of them can import it without a cycle)."""
    allowed = ("aco_sync.contracts", "aco_sync.domain", "pydantic", "__future__", "typing")
    offending = {
        module: sorted(n for n in names if not n.startswith(allowed))
        for module, names in _package_imports("contracts").items()
    }
    assert offending and not any(offending.values()), offending


def test_one_name_per_concept_no_public_class_is_defined_twice() -> None:
    """A class name means one thing in the package (the QRDA-I document's ``QrdaCode``/``QrdaQuantity``/
    ``QrdaEntryKind`` are not the eCQM model's ``Code``/``Quantity``/``EntryKind``), and the two name
    normalisations are named after what they do (``collapse_whitespace``, ``name_match_key``)."""
    where: dict[str, list[str]] = {}
    functions: set[str] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                where.setdefault(node.name, []).append(str(path.relative_to(PACKAGE)))
            elif isinstance(node, ast.FunctionDef):
                functions.add(node.name)
    assert {name: files for name, files in where.items() if len(files) > 1} == {}
    assert "normalise_name" not in functions and {"collapse_whitespace", "name_match_key"} <= functions
