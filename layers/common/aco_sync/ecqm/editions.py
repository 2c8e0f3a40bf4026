"""What one performance year's eCQM specifications share: the version of the Status library and the
bundled value-set expansions of that year's measurement period. A measure module registers its
logic per year (:mod:`aco_sync.ecqm.registry`); the year's edition gives it the rest."""

from __future__ import annotations

from dataclasses import dataclass

from aco_sync.ecqm.libraries.status import STATUS_2025, STATUS_2026, StatusLibrary


@dataclass(frozen=True, slots=True)
class Edition:
    performance_year: int
    qicore_version: str
    status: StatusLibrary
    value_set_files: tuple[str, ...]  # package data, merged in order


EDITIONS: dict[int, Edition] = {
    2025: Edition(
        performance_year=2025,
        qicore_version="4.1.1",
        status=STATUS_2025,
        value_set_files=(
            "data/valuesets/target_measures_valueset_codes_qicore2024.tsv",
            "data/valuesets/adult_outpatient_encounters_valueset_codes_qicore2024.tsv",
        ),
    ),
    2026: Edition(
        performance_year=2026,
        qicore_version="6.0.0",
        status=STATUS_2026,
        value_set_files=("data/valuesets/target_measures_valueset_codes_qicore2025.tsv",),
    ),
}


def edition(performance_year: int) -> Edition:
    try:
        return EDITIONS[performance_year]
    except KeyError:
        raise KeyError(
            f"no eCQM specifications for performance year {performance_year}; "
            f"supported: {', '.join(map(str, sorted(EDITIONS)))}"
        ) from None
