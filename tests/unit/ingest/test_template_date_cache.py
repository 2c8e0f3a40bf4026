"""The template reader parses a date's text once per process (templates._PERFORMANCE_DATE and the birth
date parser of the day): a file read after others gives exactly what it gives read first."""

from __future__ import annotations

from datetime import date

from aco_sync.domain.catalog import default_catalog
from aco_sync.ingest import templates
from aco_sync.ingest.templates import read_template

CATALOG = default_catalog()
TIN = "123456789"
HEADER = "measure_id,first_name,last_name,birth_date,gender,performance_date,performance,npi,collection_type"
DATES = [
    ("1956-04-12", "2025-03-01"),
    ("04/12/1950", "2025-12-31"),
    ("2999-01-01", "2025-03-01"),  # born in the future
    ("1850-01-01", "2025-03-01"),  # before 1900
    ("not a date", "2024-12-31"),  # and a performance date outside the year
    ("1956-04-12", "31/31/2025"),
    ("1956-04-12", ""),  # MET needs a performance date
]


def _file(first: str) -> bytes:
    rows = [f"M001,{first},Lovelace,{birth},F,{performed},MET,1234567893,CQM" for birth, performed in DATES]
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def _read(content: bytes) -> tuple[list[object], list[tuple[int | None, str, str]]]:
    result = read_template("t.csv", content, tin=TIN, performance_year=2025, catalog=CATALOG)
    return list(result.records), [(i.line, i.reason, i.code) for i in result.issues]


def test_a_file_read_after_others_gives_what_it_gives_read_first() -> None:
    templates._PERFORMANCE_DATE.cache_clear()
    templates._birth_date_parser.cache_clear()
    first = _read(_file("Bob"))
    second = _read(_file("Ada"))  # the same dates: every parse comes from the shared caches
    templates._PERFORMANCE_DATE.cache_clear()
    templates._birth_date_parser.cache_clear()
    assert templates._PERFORMANCE_DATE.cache_info().currsize == 0
    alone = _read(_file("Ada"))
    assert second == alone
    assert len(second[0]) == 2 and len(first[0]) == 2
    assert [line for line, _, _ in alone[1]] == [4, 5, 6, 7, 8]


def test_the_birth_date_parser_is_that_of_the_day() -> None:
    earlier = templates._birth_date_parser(date(2000, 1, 1))
    today = templates._birth_date_parser(date.today())
    assert earlier("2001-01-01") == (None, "the birth date is in the future")
    assert today("2001-01-01") == ((date(2001, 1, 1), "2001-01-01"), None)
    assert templates._birth_date_parser(date(2000, 1, 1)) is earlier
