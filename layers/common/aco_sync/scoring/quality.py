"""The ACO's quality score: 100 * sum(points) / (10 * measures scored)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aco_sync.scoring.points import MeasureScore, round_points


@dataclass(frozen=True, slots=True)
class QualityScore:
    score: float | None  # 0-100, 4 decimals; None when no measure counts
    total_points: float
    measures_scored: int
    counted: tuple[MeasureScore, ...]  # the measure instances in the score
    not_counted: tuple[MeasureScore, ...]  # no benchmark, below case minimum, no rate
    targets: tuple[str, ...]  # "to reach decile 8 on M236 you need 79.31%, i.e. 37 more patients met"

    @property
    def counted_instances(self) -> list[str]:
        return [score.instance for score in self.counted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "total_points": self.total_points,
            "max_points": 10 * self.measures_scored,
            "measures_scored": self.measures_scored,
            "counted": [
                {"instance": s.instance, "points": s.points, "status": s.status.value} for s in self.counted
            ],
            "not_counted": [
                {"instance": s.instance, "status": s.status.value, "reason": s.reason}
                for s in self.not_counted
            ],
            "targets": list(self.targets),
        }


def aco_quality_score(scores: Sequence[MeasureScore]) -> QualityScore:
    """Score across the measure instances that count (scored, or 0 points for data completeness)."""
    counted = tuple(s for s in scores if s.counts_in_quality_score)
    not_counted = tuple(s for s in scores if not s.counts_in_quality_score)
    total = round_points(sum(s.points or 0.0 for s in counted))
    score = round_points(100 * total / (10 * len(counted))) if counted else None
    targets = tuple(s.next_decile.message for s in counted if s.next_decile is not None)
    return QualityScore(
        score=score,
        total_points=total,
        measures_scored=len(counted),
        counted=counted,
        not_counted=not_counted,
        targets=targets,
    )
