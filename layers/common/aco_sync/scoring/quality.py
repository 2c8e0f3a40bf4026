"""The ACO's quality score: 100 * sum(points) / (10 * measures scored).

A measure counts once: when several collection types of it are scored (e.g. M236 eCQM and M236 MCQM),
the instance with the most points counts (CMS scores a measure submitted through several collection
types by its highest-scoring one); the others are listed as superseded.
"""

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
    counted: tuple[MeasureScore, ...]  # the measure instances in the score, one per measure
    not_counted: tuple[MeasureScore, ...]  # no benchmark, below case minimum, no rate
    # "to reach decile 8 on M236 (eCQM) you need 79.31%, i.e. 37 more patients met", and for measures
    # below 75% data completeness how many more patients' performance must be reported
    targets: tuple[str, ...]
    superseded: tuple[MeasureScore, ...] = ()  # scored, but another instance of the measure scores higher

    @property
    def counted_instances(self) -> list[str]:
        return [score.instance for score in self.counted]

    def is_counted(self, score: MeasureScore) -> bool:
        return any(score is counted for counted in self.counted)

    def why_not_counted(self, score: MeasureScore) -> str | None:
        """None for a counted instance, else the reason (a sentence)."""
        if self.is_counted(score):
            return None
        if any(score is s for s in self.superseded):
            winner = next(c for c in self.counted if c.measure_id == score.measure_id)
            return (
                f"Not counted: {winner.instance} scores higher ({winner.points:.4f} points); "
                "a measure counts once, in its highest-scoring collection type."
            )
        return score.reason

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
                {"instance": s.instance, "status": s.status.value, "reason": self.why_not_counted(s)}
                for s in (*self.superseded, *self.not_counted)
            ],
            "targets": list(self.targets),
        }


def _target(score: MeasureScore) -> str:
    if score.next_decile is not None:
        return score.next_decile.message
    gap = score.completeness_gap or 0
    return (
        f"to earn points on {score.measure_id} ({score.collection_type.value}) report the performance of "
        f"{gap} more of its {score.eligible_population} eligible patients "
        f"(data completeness {score.data_completeness or 0:.2f}%, 75% needed)"
    )


def aco_quality_score(scores: Sequence[MeasureScore]) -> QualityScore:
    """Score across the measures that count (scored, or 0 points for data completeness), one instance
    per measure (the highest-scoring; on a tie the first given)."""
    best: dict[str, MeasureScore] = {}
    for instance in scores:
        if not instance.counts_in_quality_score:
            continue
        current = best.get(instance.measure_id)
        if current is None or (instance.points or 0.0) > (current.points or 0.0):
            best[instance.measure_id] = instance
    counted = tuple(s for s in scores if any(s is b for b in best.values()))
    superseded = tuple(s for s in scores if s.counts_in_quality_score and not any(s is c for c in counted))
    not_counted = tuple(s for s in scores if not s.counts_in_quality_score)
    total = round_points(sum(s.points or 0.0 for s in counted))
    score = round_points(100 * total / (10 * len(counted))) if counted else None
    targets = tuple(_target(s) for s in counted if s.next_decile is not None or s.completeness_gap)
    return QualityScore(
        score=score,
        total_points=total,
        measures_scored=len(counted),
        counted=counted,
        not_counted=not_counted,
        targets=targets,
        superseded=superseded,
    )
