"""The data-driven measure catalog (``aco_sync/data/measures.json``).

Adding a measure is configuration, not code: an entry names its aggregation rule, whether it is
inverse (lower is better), its QPP quality ids and its eCQM (CMS) id.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path

from aco_sync.domain.errors import UnknownMeasureError


class AggregationRule(StrEnum):
    MOST_RECENT_NUMERATOR_ONCE_PER_PY = "most_recent_numerator_once_per_py"  # M001, M134
    ANY_MET_WINS = "any_met_wins"  # M112, M113
    MOST_RECENT_NUMERATOR = "most_recent_numerator"  # M236


@dataclass(frozen=True, slots=True)
class MeasureDefinition:
    id: str
    quality_id: str
    mcqm_quality_id: str
    ecqm_id: str
    title: str
    inverse: bool
    rule: AggregationRule
    ecqm_convertible_to_mcqm: bool = True


class MeasureCatalog:
    def __init__(self, measures: list[MeasureDefinition]) -> None:
        self._by_id = {m.id: m for m in measures}
        self._aliases: dict[str, str] = {}
        for m in measures:
            for alias in (m.id, m.quality_id, m.mcqm_quality_id, m.ecqm_id, f"M{m.quality_id}"):
                self._aliases[_alias_key(alias)] = m.id

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, measure_id: object) -> bool:
        return isinstance(measure_id, str) and measure_id in self._by_id

    def get(self, measure_id: str) -> MeasureDefinition:
        try:
            return self._by_id[measure_id]
        except KeyError:
            raise UnknownMeasureError(f"Unknown measure {measure_id!r}") from None

    def resolve(self, text: str) -> MeasureDefinition | None:
        """Find a measure by any of its names: M001, 001, 1, 001SSP, CMS122, CMS122v13, ..."""
        return self._by_id.get(self._aliases.get(_alias_key(text), ""))

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)

    @classmethod
    def from_file(cls, path: Path) -> MeasureCatalog:
        return cls._from_json(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def _from_json(cls, data: dict) -> MeasureCatalog:  # type: ignore[type-arg]
        measures = [
            MeasureDefinition(
                id=m["id"],
                quality_id=m["quality_id"],
                mcqm_quality_id=m["mcqm_quality_id"],
                ecqm_id=m["ecqm_id"],
                title=m["title"],
                inverse=bool(m["inverse"]),
                rule=AggregationRule(m["rule"]),
                ecqm_convertible_to_mcqm=bool(m.get("ecqm_convertible_to_mcqm", True)),
            )
            for m in data["measures"]
        ]
        return cls(measures)


def _alias_key(text: str) -> str:
    key = text.strip().upper().replace(" ", "")
    key = re.sub(r"^(CMS\d+)V\d+$", r"\1", key)  # CMS122v13 -> CMS122
    if key.isdigit():
        key = key.zfill(3)
    return key


@cache
def default_catalog() -> MeasureCatalog:
    text = resources.files("aco_sync").joinpath("data/measures.json").read_text(encoding="utf-8")
    return MeasureCatalog._from_json(json.loads(text))
