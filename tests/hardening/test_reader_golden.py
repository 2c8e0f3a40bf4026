"""The table readers give exactly what they gave before their bulk (column-wise, cached) parsing paths:
the same records (every field, the content hash and source key included), the same issues (file, row,
code, severity, wording), the same accounting (read = accepted + rejected) and the same refusals.

The expected outcomes were recorded once from the row-by-row readers (ACO Sync at 3fcba9d, before the
bulk paths of issue 13) on a fixed corpus: the real template, roster and provider files (docs/templates,
the local runner's sample ACO, the demo ACO, the benchmark's synthetic ACO) and ~400 seeded, malformed
variants of them (broken and multi-line quotes, blank lines, extra and missing cells, other
delimiters and line endings, ``sep=`` hints, BOMs, CP1252 and invalid UTF-8 bytes, duplicate and
misspelt columns, near-valid cell values). The corpus is generated from a fixed seed by this module, so
the recorded file holds only outcomes. Regenerate (only when a change of outcome is intended) with
``ACO_SYNC_RECORD_READER_GOLDEN=1 pytest tests/hardening/test_reader_golden.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aco_sync.domain.catalog import default_catalog
from aco_sync.ingest.providers import read_providers
from aco_sync.ingest.roster import read_roster
from aco_sync.ingest.tabular import TableError, npi_with_check_digit, read_table
from aco_sync.ingest.templates import read_template

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("data") / "reader_golden.json"
RECORD = os.environ.get("ACO_SYNC_RECORD_READER_GOLDEN") == "1"
CATALOG = default_catalog()
TIN = "123456789"
YEAR = 2025

# ----------------------------------------------------------------------------------------- the corpus

TEMPLATE_HEADER = [
    "measure_id",
    "collection_type",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "performance_date",
    "performance",
    "npi",
    "encounter_id",
    "patient_id",
    "mbi",
    "hba1c",
    "systolic",
    "diastolic",
    "tin",
]
CELLS: dict[str, list[str]] = {
    "measure_id": ["M001", "001", "236", "M236", "001SSP", "CMS122v13", "M999", "", " m001 ", "134", "x"],
    "collection_type": ["CQM", "MCQM", "", "eCQM", "registry", "Medicare CQM", "bogus", " cqm "],
    "first_name": ["Ann", "  Ann   Marie ", "José", "", "O'Brien", "Ann\u00a0Lee", "🙂"],
    "last_name": ["Lee", "Smith, Jr.", "", "DE LA CRUZ", "Müller"],
    "birth_date": [
        "1950-02-03",
        "02/03/1950",
        "19500203",
        "02-03-1950",
        "1950/02/03",
        "02/03/50",
        "1950-02-03T00:00:00",
        "1950-02-03 10:00",
        "2025-13-01",
        "02/30/1950",
        "1899-12-31",
        "2999-01-01",
        "",
        "yesterday",
        "１９５０-02-03",
    ],
    "gender": ["F", "M", "female", "MALE", "u", "2", "1", "0", "X", "", " f "],
    "performance_date": [
        "2025-03-01",
        "03/01/2025",
        "20251231",
        "2024-12-31",
        "2025-02-29",
        "",
        "2025-03-01T09:30",
        "3/1/25",
        "not a date",
    ],
    "performance": [
        "MET",
        "met",
        "NOT MET",
        "not-met",
        "",
        "DENOMINATOR_EXCLUSION",
        "exception",
        "DENOMINATOR",
        "maybe",
        "NotMet",
    ],
    "npi": [
        npi_with_check_digit("123456789"),
        "1234567890",
        "123",
        " 1234567893 ",
        "",
        "abcdefghij",
        "１２３",
    ],
    "encounter_id": ["ENC-1", "ENC-2", "", "e 3", "ENC-1"],
    "patient_id": ["MRN1", "", "MRN 2"],
    "mbi": ["1EG4TE5MK73", "1eg4-te5-mk73", "", "1EG4TE5MK7", "0EG4TE5MK73"],
    "hba1c": ["7.5", "", "7.5%", "30", "1e309", "NaN", "inf", "-1", "٧", "9" * 45, "6"],
    "systolic": ["128", "", "128.0", "128.5", "20", "abc", "1E2"],
    "diastolic": ["82", "", "82.00", "250", "-5"],
    "tin": ["", TIN, "123-45-6789", "987654321", "12345"],
    "denominator_only_count": ["14", "0", "", "-1", "3.5", "١٢", "007"],
}
ROSTER_HEADER = ["mbi", "first_name", "last_name", "birth_date", "gender", "M001", "cms122", "236"]
ROSTER_CELLS: dict[str, list[str]] = {
    "mbi": ["1EG4TE5MK73", "2EG4TE5MK74", "1eg4-te5-mk73", "", "bad", "3EG4TE5MK75"],
    "first_name": CELLS["first_name"],
    "last_name": CELLS["last_name"],
    "birth_date": CELLS["birth_date"],
    "gender": CELLS["gender"],
    "M001": ["Y", "N", "", "1", "yes", "maybe"],
    "cms122": ["Y", "N", "", "TRUE"],
    "236": ["Y", "", "0"],
}
PROVIDER_HEADER = ["npi", "name", "active"]
PROVIDER_CELLS: dict[str, list[str]] = {
    "npi": CELLS["npi"],
    "name": ["Dr A", "", "Dr  B ", "Clinic, Inc."],
    "active": ["Y", "N", "", "maybe", "inactive"],
}


def _real_files() -> Iterator[tuple[str, str, bytes]]:
    """(kind, name, bytes) of every real template, roster and provider file the repository holds."""
    roots = [REPO / "docs" / "templates", REPO / "tests" / "integration" / "local_runner" / "fixtures"]
    for root in roots:
        for path in sorted(root.rglob("*.csv")):
            yield _kind_of(path.name), path.name, path.read_bytes()


def _kind_of(name: str) -> str:
    if "roster" in name:
        return "roster"
    if "provider" in name:
        return "providers"
    return "template"


def _generated_folder(writer: Callable[[Path], object], tmp: Path) -> Iterator[tuple[str, str, bytes]]:
    writer(tmp)
    for path in sorted(tmp.rglob("*.csv")):
        yield _kind_of(path.name), path.name, path.read_bytes()


def _demo_and_synthetic(tmp: Path) -> Iterator[tuple[str, str, bytes]]:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from aco_sync_local.demo_data import write_demo_aco
        from synthetic import generate_aco, write_bucket_folder

        yield from _generated_folder(write_demo_aco, tmp / "demo")
        aco = generate_aco(records=3_000, tins=3)
        yield from _generated_folder(lambda folder: write_bucket_folder(aco, folder), tmp / "synthetic")
    finally:
        sys.path.remove(str(REPO / "bench"))


def _rows(rng: random.Random, header: list[str], cells: dict[str, list[str]], count: int) -> list[list[str]]:
    return [[rng.choice(cells.get(h, [""])) for h in header] for _ in range(count)]


def _to_text(rng: random.Random, header: list[str], rows: list[list[str]]) -> str:
    delimiter = rng.choice([",", ",", ",", ";", "\t", "|"])
    ending = rng.choice(["\n", "\r\n", "\r\n", "\r"])
    quote_all = rng.random() < 0.15

    def cell(value: str) -> str:
        if quote_all or delimiter in value or '"' in value or "\n" in value or rng.random() < 0.03:
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(cell(c) for c in row) for row in [header, *rows]]
    return ending.join(lines) + (ending if rng.random() < 0.8 else "")


def _mutate(rng: random.Random, text: str) -> str:
    """One to three damaging edits of a CSV text."""
    lines = text.splitlines(keepends=True) or [""]
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(lines))
        edit = rng.randrange(12)
        if edit == 0:
            lines.insert(at, "\n")  # a blank line
        elif edit == 1:
            lines.insert(at, ",,,\n")  # a row of empty cells
        elif edit == 2:
            lines[at] = lines[at].replace(",", ',"', 1)  # a quote that is not closed on its line
        elif edit == 3:
            lines[at] = '"' + lines[at].rstrip("\r\n") + "\n" + "x" + lines[at]  # a quoted line break
        elif edit == 4:
            lines[at] = lines[at].rstrip("\r\n") + ",extra,cells\n"  # more cells than the header
        elif edit == 5:
            lines[at] = lines[at].split(",", 1)[0] + "\n"  # fewer cells
        elif edit == 6:
            lines[at] = lines[at].replace(",", ',"a"b,', 1)  # text after a closing quote
        elif edit == 7:
            lines[at] = lines[at].replace(",", ",  ", 2)  # spaces around cells
        elif edit == 8:
            lines[at] = lines[at].replace(",", ",\x00", 1)  # a NUL character
        elif edit == 9:
            lines[at] = lines[at] + '"' + "\n" * rng.randint(1, 25)  # a quote swallowing lines
        elif edit == 10:
            lines.insert(at, ",".join(["v"] * rng.randint(1, 30)) + "\n")  # a ragged row
        else:
            lines[at] = lines[at].replace("\n", "\r", 1)  # a lone carriage return
    return "".join(lines)


def _encode(rng: random.Random, text: str) -> bytes:
    roll = rng.random()
    if roll < 0.06:
        return b"\xef\xbb\xbf" + text.encode()
    if roll < 0.10:
        return text.encode("cp1252", errors="replace")
    if roll < 0.14:  # a few lines that are not UTF-8 among UTF-8 ones
        lines = text.encode().split(b"\n")
        for _ in range(rng.randint(1, 3)):
            lines[rng.randrange(len(lines))] += b"\xff\xfe"
        return b"\n".join(lines)
    return text.encode()


def _header_variant(rng: random.Random, header: list[str]) -> list[str]:
    header = list(header)
    roll = rng.random()
    if roll < 0.1:
        header.remove(rng.choice(header))  # a missing column
    elif roll < 0.2:
        header.append(rng.choice(header))  # a repeated column
    elif roll < 0.25:
        at = rng.randrange(len(header))
        header[at] = header[at][:-1] + "x"  # a misspelt column
    elif roll < 0.35:
        header = [
            rng.choice([h, h.upper(), h.replace("_", " "), f" {h} ", h.replace("_", "-")]) for h in header
        ]
    elif roll < 0.45:
        rng.shuffle(header)
    elif roll < 0.5:
        header.append("unknown column")
    return header


def _generated(rng: random.Random) -> Iterator[tuple[str, str, bytes]]:
    plain_template = [h for h in TEMPLATE_HEADER if h != "tin"]
    shapes: list[tuple[str, list[str], dict[str, list[str]]]] = [
        ("template", TEMPLATE_HEADER, CELLS),
        ("template", plain_template, CELLS),
        ("template", plain_template[:9], CELLS),  # no collection type, no optional columns
        ("template", ["measure_id", "collection_type", "denominator_only_count"], CELLS),
        ("template", ["measure", "count"], CELLS),
        ("roster", ROSTER_HEADER, ROSTER_CELLS),
        ("roster", ROSTER_HEADER[:5], ROSTER_CELLS),
        ("providers", PROVIDER_HEADER, PROVIDER_CELLS),
    ]
    for number in range(420):
        kind, base, cells = shapes[number % len(shapes)]
        header = _header_variant(rng, base)
        rows = _rows(rng, base, cells, rng.randint(0, 14))
        if kind == "template" and rng.random() < 0.3:
            rows += rows[: rng.randint(1, 3)]  # duplicate rows
        text = _to_text(rng, header, rows)
        if rng.random() < 0.5:
            text = _mutate(rng, text)
        if rng.random() < 0.04:
            text = "sep=;\n" + text.replace(",", ";")
        suffix = ".tsv" if "\t" in text.split("\n", 1)[0] and rng.random() < 0.5 else ".csv"
        yield kind, f"case{number:03d}{suffix}", _encode(rng, text)


def _whole_file_cases() -> Iterator[tuple[str, str, bytes]]:
    """Files refused as a whole, and files at the edges of the table reader."""
    header = ",".join(TEMPLATE_HEADER[:9])
    yield "template", "empty.csv", b""
    yield "template", "blank.csv", b"\n\n \n"
    yield "template", "header-only.csv", header.encode() + b"\n"
    yield "template", "utf16.csv", header.encode("utf-16")
    yield "template", "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64
    yield "template", "notes.pdf", header.encode()
    yield "template", "wide.csv", ",".join(f"c{i}" for i in range(250)).encode() + b"\n1\n"
    yield "template", "binary.csv", bytes(range(256)) * 8
    yield "template", "many-bad-lines.csv", header.encode() + b"\n" + b"\xff\xfe,x\n" * 30
    yield "template", "broken-header.csv", b'"measure_id,first_name\n' * 30
    yield "roster", "roster-empty.csv", b""
    yield "roster", "roster-utf16.csv", ",".join(ROSTER_HEADER).encode("utf-16")
    yield "providers", "providers-empty.csv", b""
    yield "providers", "providers-header-only.csv", b"npi,name,active\r\n"
    yield "template", "sep-quote.csv", b'sep="\nmeasure_id"x\nM001"a"b\n'
    yield "template", "sep-letter.csv", b"sep=a\nmeasure_idax\nM001\n"
    yield "template", "sep-semicolon.csv", ("sep=;\n" + header.replace(",", ";") + "\n;;\n").encode()
    yield "template", "delimiters-before-header.csv", b",,,\n\n" + header.encode() + b'\n"M001\n,x"\n'
    big = "a" * 140_000
    yield "template", "long-value.csv", f'{header}\nM001,{big}\nM001,"{big}"\n'.encode()


def corpus(tmp: Path) -> list[tuple[str, str, str, bytes]]:
    """(case id, kind, file name, bytes): the real files, then the generated ones."""
    items = [
        *_real_files(),
        *_demo_and_synthetic(tmp),
        *_whole_file_cases(),
        *_generated(random.Random(13)),
    ]
    return [(f"{i:03d}-{kind}-{name}", kind, name, data) for i, (kind, name, data) in enumerate(items)]


# ---------------------------------------------------------------------------------------- the outcomes


def _issue(issue: Any) -> list[Any]:
    return [issue.file, issue.line, issue.severity, issue.code, issue.reason, issue.tin, issue.covers]


def _issues(issues: list[Any]) -> dict[str, Any]:
    """Every issue by digest; the first few and every code in full (readable when one differs)."""
    listed = [_issue(i) for i in issues]
    return {
        "count": len(listed),
        "all": hashlib.sha256(json.dumps(listed).encode()).hexdigest(),
        "first": listed[:1],
        "codes": sorted({i[3] for i in listed}),
    }


def _fields(item: Any) -> str:
    """A record's fields in order, sets sorted (their repr's order changes with the hash seed)."""
    values = [getattr(item, f.name) for f in dataclasses.fields(item)]
    return repr(tuple(sorted(v) if isinstance(v, frozenset) else v for v in values))


def _digest(items: list[Any]) -> str:
    return hashlib.sha256("\n".join(_fields(x) for x in items).encode()).hexdigest()


def outcome(kind: str, name: str, data: bytes) -> dict[str, Any]:
    """What one reader gives for one file, as plain JSON (record fields by digest)."""
    try:
        table = read_table(name, data, tin=TIN)
        rows = [[row.line, row.values] for row in table.rows]
        table_part: dict[str, Any] = {
            "rows": hashlib.sha256(json.dumps(rows).encode()).hexdigest(),
            "read": table.rows_read,
            "rejected": table.rows_rejected,
            "issues": _issues(table.issues.finish()),
        }
    except TableError as exc:
        table_part = {"error": [exc.reason, exc.line, exc.code]}
    if kind == "template":
        result = read_template(name, data, tin=TIN, performance_year=YEAR, catalog=CATALOG)
        read = {
            "records": _digest(result.records),
            "first_record": _fields(result.records[0]) if result.records else None,
            "counts": _digest(result.denominator_counts),
            "total": result.rows_total,
            "accepted": result.rows_accepted,
            "rejected": result.rows_rejected,
            "refused": result.refused,
            "issues": _issues(result.issues),
        }
    elif kind == "roster":
        roster = read_roster(name, data, catalog=CATALOG)
        read = {
            "entries": _digest(roster.entries),
            "first_entry": _fields(roster.entries[0]) if roster.entries else None,
            "total": roster.rows_total,
            "rejected": roster.rows_rejected,
            "refused": roster.refused,
            "issues": _issues(roster.issues),
        }
    else:
        providers = read_providers(name, data, tin=TIN)
        read = {
            "providers": _digest(providers.providers),
            "total": providers.rows_total,
            "rejected": providers.rows_rejected,
            "refused": providers.refused,
            "issues": _issues(providers.issues),
        }
    return {"table": table_part, "read": read}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, str, bytes]]:
    return corpus(tmp_path_factory.mktemp("reader-corpus"))


@pytest.fixture(scope="module")
def golden(cases: list[tuple[str, str, str, bytes]]) -> dict[str, Any]:
    if RECORD:
        recorded = {case: outcome(kind, name, data) for case, kind, name, data in cases}
        GOLDEN.parent.mkdir(exist_ok=True)
        lines = [
            f"{json.dumps(case)}: {json.dumps(recorded[case], sort_keys=True)}" for case in sorted(recorded)
        ]
        GOLDEN.write_text("{\n" + ",\n".join(lines) + "\n}\n")  # one line per case: readable diffs
    return json.loads(GOLDEN.read_text())


def test_the_corpus_is_the_recorded_one(
    cases: list[tuple[str, str, str, bytes]], golden: dict[str, Any]
) -> None:
    assert [case for case, *_ in cases] == sorted(golden)
    kinds = {kind for _, kind, _, _ in cases}
    assert kinds == {"template", "roster", "providers"}
    assert len(cases) > 400


def test_readers_give_the_recorded_outcomes(
    cases: list[tuple[str, str, str, bytes]], golden: dict[str, Any]
) -> None:
    differing = [case for case, kind, name, data in cases if outcome(kind, name, data) != golden[case]]
    assert not differing, f"{len(differing)} cases differ, e.g. {differing[:5]}"


def test_the_corpus_exercises_rejections_and_records(golden: dict[str, Any]) -> None:
    """The recorded outcomes are not trivial: records, rejected rows, refused files, reader issues."""
    reads = [g["read"] for g in golden.values()]
    assert sum(r.get("accepted", 0) for r in reads) > 3_000
    assert sum(r["rejected"] for r in reads) > 500
    assert sum(1 for r in reads if r["refused"]) > 10
    codes = {code for r in reads for code in r["issues"]["codes"]}
    for code in ("malformed_row", "bad_encoding", "duplicate_row", "invalid_date", "missing_column"):
        assert code in codes, code
