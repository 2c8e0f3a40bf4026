"""Readers never raise for bad content: whatever bytes arrive, they return issues (property tests)."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aco_sync.domain.catalog import default_catalog
from aco_sync.domain.qrda_document import QrdaDocument
from aco_sync.domain.records import IngestIssue
from aco_sync.ingest.hl7_time import parse_hl7_timestamp
from aco_sync.ingest.providers import read_providers
from aco_sync.ingest.qrda import read_qrda_upload
from aco_sync.ingest.roster import read_roster
from aco_sync.ingest.templates import read_template
from qrda_samples import qrda_document

CATALOG = default_catalog()
CSV_ALPHABET = st.sampled_from([*list('abcMF019-/,;"\n\r\t é'), "\ufeff", "mbi", "first_name", "2025-01-01"])
csv_text = st.lists(CSV_ALPHABET, max_size=200).map("".join)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.one_of(st.binary(max_size=400), csv_text.map(lambda t: t.encode("utf-8", "replace"))))
def test_tabular_readers_never_raise(data: bytes) -> None:
    roster = read_roster("r.csv", data, catalog=CATALOG)
    assert roster.rows_accepted + roster.rows_rejected == roster.rows_total or roster.rows_accepted == 0
    assert all(isinstance(i, IngestIssue) and i.reason for i in roster.issues)
    read_template("t.csv", data, tin="123456789", performance_year=2025, catalog=CATALOG)
    read_providers("p.csv", data, tin="123456789")


@SETTINGS
@given(st.binary(max_size=400))
def test_qrda_reader_never_raises_on_garbage(data: bytes) -> None:
    for result in read_qrda_upload("x.xml", data) + read_qrda_upload("x.zip", data):
        assert isinstance(result, IngestIssue | QrdaDocument)


@SETTINGS
@given(st.integers(min_value=0, max_value=len(qrda_document()) - 1), st.integers(min_value=1, max_value=40))
def test_truncated_or_damaged_qrda_is_rejected_or_read(cut: int, length: int) -> None:
    text = qrda_document()
    damaged = (text[:cut] + text[cut + length :]).encode()
    [result] = read_qrda_upload("x.xml", damaged)
    assert isinstance(result, IngestIssue | QrdaDocument)


@SETTINGS
@given(st.text(max_size=30))
def test_timestamp_parser_raises_only_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_hl7_timestamp(text)
