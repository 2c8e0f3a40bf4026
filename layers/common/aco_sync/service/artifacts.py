"""JSON forms of the records the workflow steps hand to each other through the object store.

Steps pass S3 keys and counts in their payloads; what they exchange lives under store/<aco_id>/.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from itertools import compress
from typing import Any

from aco_sync.adapters.ports import ObjectStore
from aco_sync.domain.bulk import gc_paused
from aco_sync.domain.errors import InvalidInputError
from aco_sync.domain.outcome_columns import OutcomeColumns
from aco_sync.domain.partitions import bucket_of, buckets_of_partition, roster_of_partition
from aco_sync.domain.records import (
    CollectionType,
    DenominatorCount,
    Gender,
    MeasureStats,
    PatientOutcome,
    Performance,
    RosterEntry,
    SyncLogEntry,
)
from aco_sync.wire import (
    count_from_dict,
    count_to_dict,
    log_entry_to_dict,
    roster_entry_from_dict,
    stats_from_dict,
    stats_to_dict,
)


def dumps(data: Any) -> bytes:
    return json.dumps(data, default=str, separators=(",", ":")).encode("utf-8")


ROSTER_FORMAT = "roster-columns-1"
_ROSTER_GENDERS = {g.value: g for g in Gender}


def roster_to_json(entries: Iterable[RosterEntry]) -> bytes:
    """The active roster's normalised JSON, one list per field (birth dates as day ordinals, eligible
    measures in id order): read with ``json.loads`` and no validation model per row."""
    rows = list(entries)
    return dumps(
        {
            "format": ROSTER_FORMAT,
            "n": len(rows),
            "mbi": [e.mbi for e in rows],
            "first_name": [e.first_name for e in rows],
            "last_name": [e.last_name for e in rows],
            "birth_date": [e.birth_date.toordinal() for e in rows],
            "gender": [e.gender.value for e in rows],
            "eligible_measures": [
                None if e.eligible_measures is None else sorted(e.eligible_measures) for e in rows
            ],
            "source_line": [e.source_line for e in rows],
        }
    )


def roster_from_json(data: bytes, *, partition: int = 0, partitions: int = 1) -> list[RosterEntry]:
    """The roster's entries (of one engine partition's buckets when ``partitions`` > 1, as
    :func:`aco_sync.domain.partitions.roster_of_partition`), from either stored format: the columns
    of :func:`roster_to_json`, or a list of entry objects (rosters stored by earlier versions)."""
    parsed = json.loads(data)
    if isinstance(parsed, list):
        return roster_of_partition([roster_entry_from_dict(item) for item in parsed], partition, partitions)
    try:
        with gc_paused():  # ~100k entries at once, nothing cyclic: no collection walks them as they come
            return _roster_columns(parsed, partition, partitions)
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise InvalidInputError(f"Stored roster is corrupt: {error.__class__.__name__}") from None


def _roster_columns(parsed: dict[str, Any], partition: int, partitions: int) -> list[RosterEntry]:
    if parsed["format"] != ROSTER_FORMAT:
        raise ValueError("format")
    size = parsed["n"]
    names = ("mbi", "first_name", "last_name", "birth_date", "gender", "eligible_measures", "source_line")
    columns = [parsed[name] for name in names]
    if type(size) is not int or any(type(c) is not list or len(c) != size for c in columns):
        raise ValueError("columns")
    mbis, firsts, lasts, births, genders, flags, lines = columns
    if not set(map(type, [*mbis, *firsts, *lasts])) <= {str} or not set(map(type, births)) <= {int}:
        raise ValueError("types")
    if not set(genders) <= _ROSTER_GENDERS.keys() or not set(map(type, lines)) <= {int, type(None)}:
        raise ValueError("types")
    flag_sets = [None if f is None else frozenset(map(str, f)) for f in flags]
    rows: list[int] | range = range(size)
    if partitions > 1:
        wanted = buckets_of_partition(partition, partitions)
        # one integer per row (birth date, gender): no tuple per row
        gender_code = {g: code for code, g in enumerate(_ROSTER_GENDERS)}
        genders_by_code = list(_ROSTER_GENDERS)
        pairs = list(
            map(int.__add__, map(len(gender_code).__mul__, births), map(gender_code.__getitem__, genders))
        )
        in_partition = {
            pair: bucket_of(
                date.fromordinal(pair // len(gender_code)).year, genders_by_code[pair % len(gender_code)]
            )
            in wanted
            for pair in set(pairs)
        }
        rows = list(compress(rows, map(in_partition.__getitem__, pairs)))
    dates = {day: date.fromordinal(day) for day in set(births)}
    return list(
        map(
            RosterEntry,
            map(mbis.__getitem__, rows),
            map(firsts.__getitem__, rows),
            map(lasts.__getitem__, rows),
            map(dates.__getitem__, map(births.__getitem__, rows)),
            map(_ROSTER_GENDERS.__getitem__, map(genders.__getitem__, rows)),
            map(flag_sets.__getitem__, rows),
            map(lines.__getitem__, rows),
        )
    )


def counts_to_json(counts: Iterable[DenominatorCount]) -> bytes:
    return dumps([count_to_dict(c) for c in counts])


def counts_from_json(data: bytes) -> list[DenominatorCount]:
    return [count_from_dict(item) for item in json.loads(data)]


def outcome_to_dict(o: PatientOutcome) -> dict[str, Any]:
    return {
        "master_pat_id": o.master_pat_id,
        "measure_id": o.measure_id,
        "collection_type": o.collection_type.value,
        "outcome": o.outcome.value,
        "performance_date": o.performance_date.isoformat() if o.performance_date else None,
        "source_tins": list(o.source_tins),
        "source_keys": list(o.source_keys),
        "gender": o.gender.value if o.gender is not None else None,
    }


def outcome_from_dict(item: dict[str, Any]) -> PatientOutcome:
    return PatientOutcome(
        master_pat_id=item["master_pat_id"],
        measure_id=item["measure_id"],
        collection_type=CollectionType(item["collection_type"]),
        outcome=Performance(item["outcome"]),
        performance_date=date.fromisoformat(item["performance_date"])
        if item.get("performance_date")
        else None,
        source_tins=tuple(item.get("source_tins", ())),
        source_keys=tuple(item.get("source_keys", ())),
        gender=Gender(item["gender"]) if item.get("gender") else None,  # absent in older files
    )


def aggregation_to_json(
    outcomes: Sequence[PatientOutcome],
    stats: Sequence[MeasureStats],
    log: Sequence[SyncLogEntry],
    probable_duplicates: Sequence[dict[str, str]] = (),
) -> bytes:
    return dumps(
        {
            "outcomes": [outcome_to_dict(o) for o in outcomes],
            "stats": [stats_to_dict(s) for s in stats],
            "log": [log_entry_to_dict(e) for e in log],
            "probable_duplicates": list(probable_duplicates),
        }
    )


def probable_duplicates_from_json(data: bytes) -> list[dict[str, str]]:
    """The probable-duplicate pairs (master_pat_id_a, master_pat_id_b, reason) of an aggregation."""
    return [dict(pair) for pair in json.loads(data).get("probable_duplicates", [])]


def aggregation_from_json(
    data: bytes, objects: ObjectStore | None = None
) -> tuple[list[PatientOutcome], list[MeasureStats]]:
    """The outcomes and stats of an aggregation; its ``outcome_parts`` (the outcome files of its engine
    partitions, :func:`outcomes_to_json`, in partition order) are read from ``objects``."""
    parsed = json.loads(data)
    outcomes = [outcome_from_dict(o) for o in parsed.get("outcomes", [])]
    for key in parsed.get("outcome_parts", []):
        if objects is None:
            raise ValueError("an aggregation with outcome parts needs the object store")
        outcomes.extend(outcomes_from_json(objects.get(key)))
    return outcomes, [stats_from_dict(s) for s in parsed.get("stats", [])]


_KEY_SEPARATOR = "\x1f"  # never in a source key (it is built from TINs, file refs, ids and codes)


def _coded(values: Iterable[Any]) -> tuple[list[Any], list[int]]:
    """(distinct values in first-seen order, index of each value): C-level ``dict`` and ``map``."""
    items = list(values)
    table = list(dict.fromkeys(items))
    number = dict(zip(table, range(len(table)), strict=True))
    return table, list(map(number.__getitem__, items))


def outcomes_to_json(outcomes: Sequence[PatientOutcome] | OutcomeColumns) -> bytes:
    """Patient outcomes as columns (one list per field, dictionary-coded where few values repeat): an
    engine partition's outcome file, written once and read by the reports without a dict per outcome.
    The engine's :class:`OutcomeColumns` are written as they are (no object per outcome)."""
    table = outcomes if isinstance(outcomes, OutcomeColumns) else OutcomeColumns.from_outcomes(outcomes)
    columns: dict[str, Any] = {"format": "outcome-columns-1", "n": len(table)}
    columns["master_pat_id"] = table.master_pat_id
    for name, values in (
        ("measure_id", table.measure_id),
        ("collection_type", table.collection_type),
        ("outcome", table.outcome),
        ("source_tins", map(";".join, table.source_tins)),
        ("gender", table.gender),
    ):
        distinct, indices = _coded(values)
        columns[name] = {"table": distinct, "index": indices}
    columns["performance_date"] = table.performance_date
    columns["source_keys"] = list(map(_KEY_SEPARATOR.join, table.source_keys))
    return dumps(columns)


def outcomes_from_json(data: bytes) -> list[PatientOutcome]:
    parsed = json.loads(data)
    if parsed.get("format") != "outcome-columns-1":
        raise ValueError(f"not an outcome file: {str(parsed.get('format'))[:40]!r}")

    def column(name: str, convert: Any) -> list[Any]:
        table = [convert(v) for v in parsed[name]["table"]]
        return list(map(table.__getitem__, parsed[name]["index"]))

    days = parsed["performance_date"]
    dates = {day: date.fromordinal(day) if day else None for day in set(days)}
    keys = parsed["source_keys"]
    return list(
        map(
            PatientOutcome,
            parsed["master_pat_id"],
            column("measure_id", str),
            column("collection_type", CollectionType),
            column("outcome", Performance),
            map(dates.__getitem__, days),
            column("source_tins", lambda v: tuple(v.split(";")) if v else ()),
            (tuple(k.split(_KEY_SEPARATOR)) if k else () for k in keys),
            column("gender", lambda v: Gender(v) if v else None),
        )
    )
