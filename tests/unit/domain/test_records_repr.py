"""A record that ends up in a log line or an exception message must not show PHI."""

from datetime import date

from aco_sync.domain.records import CollectionType, Gender, Performance, PerformanceRecord, RosterEntry


def test_performance_record_repr_hides_names_birth_date_and_mbi() -> None:
    record = PerformanceRecord(
        tin="123456789",
        source_key="123456789:template:E1:M001:CQM",
        measure_id="M001",
        collection_type=CollectionType.CQM,
        performance=Performance.MET,
        performance_date=date(2025, 3, 1),
        first_name="Zelda",
        last_name="Quixotica",
        birth_date=date(1951, 7, 14),
        gender=Gender.FEMALE,
        mbi="1EG4TE5MK73",
    )
    text = repr(record)
    for phi in ("Zelda", "Quixotica", "1951", "1EG4TE5MK73"):
        assert phi not in text
    assert "M001" in text and "123456789" in text  # still useful for debugging


def test_roster_entry_repr_hides_phi() -> None:
    entry = RosterEntry(
        mbi="1EG4TE5MK73",
        first_name="Zelda",
        last_name="Quixotica",
        birth_date=date(1951, 7, 14),
        gender=Gender.FEMALE,
    )
    text = repr(entry)
    for phi in ("Zelda", "Quixotica", "1951", "1EG4TE5MK73"):
        assert phi not in text
