"""What would lift the ACO quality score, ranked by points gained per patient.

For every measure instance that counts, two kinds of target: reaching the next benchmark decile
(``next_decile``: that many more patients met, or fewer for an inverse measure) and reaching 75% data
completeness (``completeness_gap`` more patients reported; the instance then earns the points of its
rate). Points gained are computed with the same scoring rules (:func:`points_for_rate`), so the ranking
tells a quality team where each patient they chase earns the most.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aco_sync.reports.model import ScoredSync
from aco_sync.scoring.points import MeasureScore, points_for_rate, round_points


@dataclass(frozen=True)
class Target:
    instance: str  # "M236 CQM"
    kind: str  # "next_decile" | "data_completeness"
    patients: int  # patients to change (met, or reported)
    points_gained: float  # on the measure (0-10 scale)
    score_gained: float  # on the ACO quality score (0-100)
    message: str

    @property
    def points_per_patient(self) -> float:
        return self.points_gained / self.patients if self.patients else self.points_gained

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "kind": self.kind,
            "patients": self.patients,
            "points_gained": self.points_gained,
            "points_per_patient": round_points(self.points_per_patient),
            "score_gained": self.score_gained,
            "message": self.message,
        }


def _completeness_target(score: MeasureScore) -> tuple[float, str] | None:
    gap = score.completeness_gap or 0
    if not gap or score.benchmark is None:
        return None
    rate = score.performance_rate
    gained = points_for_rate(rate, score.benchmark)[1] if rate is not None else 0.0
    return gained, (
        f"to earn points on {score.measure_id} ({score.collection_type.value}) report the performance of "
        f"{gap} more of its {score.eligible_population} eligible patients "
        f"(data completeness {score.data_completeness or 0:.2f}%, 75% needed)"
    )


def ranked_targets(scored: ScoredSync) -> list[Target]:
    """Targets of the counted instances, most points per patient first (then fewest patients)."""
    counted = scored.quality.counted_instances
    measures_scored = max(scored.quality.measures_scored, 1)
    targets: list[Target] = []
    for score in scored.scores:
        if score.instance not in counted:
            continue
        if score.next_decile is not None and score.benchmark is not None and score.points is not None:
            target_points = points_for_rate(score.next_decile.rate, score.benchmark)[1]
            gained = round_points(max(target_points - score.points, 0.0))
            targets.append(
                Target(
                    instance=score.instance,
                    kind="next_decile",
                    patients=score.next_decile.patients,
                    points_gained=gained,
                    score_gained=round_points(100 * gained / (10 * measures_scored)),
                    message=score.next_decile.message,
                )
            )
        completeness = _completeness_target(score)
        if completeness is not None:
            gained, message = completeness
            gained = round_points(gained)
            targets.append(
                Target(
                    instance=score.instance,
                    kind="data_completeness",
                    patients=score.completeness_gap or 0,
                    points_gained=gained,
                    score_gained=round_points(100 * gained / (10 * measures_scored)),
                    message=message,
                )
            )
    return sorted(targets, key=lambda t: (-t.points_per_patient, t.patients, t.instance))
