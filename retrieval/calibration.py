"""Per-class decision threshold from normal images only — no defect example is ever needed.

Each reference (up to a bounded number) is scored leave-one-out: against its k nearest *other*
references, exactly as a query would be. The threshold sits z standard deviations above the mean of
those normal scores. `anomaly_score = map_score / threshold`, so 1.0 is the class threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

MIN_REFERENCES = 2


@dataclass(frozen=True)
class Calibration:
    class_name: str
    threshold: float
    mean: float
    std: float
    n_scored: int
    n_references: int
    fingerprint: str     # hash of the class's reference set
    settings: str        # encoder id + map settings the scores were made with

    def to_dict(self) -> dict:
        return asdict(self)

    def is_current(self, fingerprint: str, settings: str) -> bool:
        return self.fingerprint == fingerprint and self.settings == settings


def threshold_from_scores(scores: np.ndarray, z: float) -> tuple[float, float, float]:
    """(N,) leave-one-out scores of normal references -> (threshold, mean, std).

    The std is floored at 5% of the mean so two near-identical references still give a usable margin.
    """
    scores = np.asarray(scores, dtype=np.float64)
    mean = float(scores.mean())
    std = max(float(scores.std(ddof=1)) if scores.size > 1 else 0.0, 0.05 * abs(mean))
    return mean + z * std, mean, std


def spread_indices(n: int, limit: int) -> list[int]:
    """At most `limit` indices evenly spread over range(n) (all of them when n <= limit)."""
    if n <= limit:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, limit)})
