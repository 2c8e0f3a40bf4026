"""fast_frozen_init (domain/bulk.py): the records' faster __init__ builds exactly what the dataclass's
generated __init__ builds, and everything else of the frozen dataclass still works."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import dataclass, field
from datetime import date

import pytest

from aco_sync.adapters.ports import AggregateEncounter
from aco_sync.domain.bulk import fast_frozen_init
from aco_sync.domain.records import CollectionType, Gender, Performance, PerformanceRecord


@dataclass(frozen=True, slots=True)
class _Generated:  # the dataclass's own __init__, for comparison
    a: str
    b: int | None = None
    c: str = "x"


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class _Fast:
    a: str
    b: int | None = None
    c: str = "x"


def _as_tuple(record: object) -> tuple[object, ...]:
    return dataclasses.astuple(record)  # type: ignore[call-overload,no-any-return]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [(("a",), {}), (("a", 1), {}), (("a", 1, "y"), {}), ((), {"a": "a", "c": "z"}), (("a",), {"b": 2})],
)
def test_same_values_as_the_generated_init(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    assert _as_tuple(_Fast(*args, **kwargs)) == _as_tuple(_Generated(*args, **kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), (("a", 1, "y", "extra"), {}), (("a",), {"a": "again"}), (("a",), {"d": 1})],
)
def test_same_errors_as_the_generated_init(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError) as generated:
        _Generated(*args, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError) as fast:
        _Fast(*args, **kwargs)  # type: ignore[arg-type]
    assert str(fast.value).replace("_Fast", "_Generated") == str(generated.value)


def _record(**changes: object) -> PerformanceRecord:
    record = PerformanceRecord(
        "123456789",
        "123456789:template:enc1:M001:CQM",
        "M001",
        CollectionType.CQM,
        Performance.MET,
        date(2025, 3, 1),
        "Ann",
        "Lee",
        date(1950, 1, 2),
        Gender.FEMALE,
        npi="1234567893",
        source_file="templates/a.csv",
        source_line=2,
        content_hash="c" * 32,
    )
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def test_records_stay_frozen_hashable_comparable_and_picklable() -> None:
    record = _record()
    assert record == _record() and hash(record) == hash(_record()) and record != _record(npi=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.tin = "1"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(record)) == record
    assert copy.copy(record) == record and copy.deepcopy(record) == record
    assert dataclasses.asdict(record)["first_name"] == "Ann"
    assert dataclasses.replace(record, hba1c=7.5).hba1c == 7.5
    assert record.mbi is None and record.member_patient_id is None and record.systolic is None
    assert "Ann" not in repr(record)  # repr=False fields still hidden


def test_aggregate_encounter_keeps_keyword_and_positional_construction() -> None:
    positional = AggregateEncounter("1", "K1", "h", "F1", "M001", "CQM")
    named = AggregateEncounter(
        tin="1", source_key="K1", content_hash="h", source_file="F1", measure_id="M001", collection_type="CQM"
    )
    assert positional == named and hash(positional) == hash(named)


def test_refuses_what_it_cannot_build() -> None:
    @dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclass(frozen=True, slots=True)
    class WithFactory:
        a: list[int] = field(default_factory=list)

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    for cls in (NotFrozen, WithFactory, NoSlots):
        with pytest.raises(TypeError):
            fast_frozen_init(cls)
