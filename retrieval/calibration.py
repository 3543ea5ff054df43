"""Per-class decision threshold from normal images only — no defect example is ever needed.

Each reference (up to a bounded number) is scored leave-one-out: against its k nearest *other*
references, exactly as a query would be. The threshold is the conformal quantile of those normal scores
for a stated false-alarm rate (`target_overkill`): with n exchangeable normal scores, the r-th smallest,
r = ceil((n + 1) * (1 - target)), is exceeded by a new normal with probability (n + 1 - r) / (n + 1) <= target.
(The older rule, mean + z * std, is kept in `threshold_from_scores`.) `anomaly_score = map_score / threshold`,
so 1.0 is the class threshold.
The out-of-distribution limit comes the same way from the normals' global embeddings: each reference's
cosine distance to its nearest *other* reference (what retrieval would report for it as a query), their
conformal quantile at `ood_overkill`, times a margin (`ood_limit_from_distances`). A query farther than that
from its nearest reference of the class is not judged as that class at all (wrong product, unknown object).
A calibration carries a digest of its values and of what it was computed from (reference-set
fingerprint, settings); a stored one whose digest does not match (edited, damaged) is not current.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace

import numpy as np

MIN_REFERENCES = 2
MIN_OOD_DISTANCE = 0.01   # floor of the quantile: near-duplicate references must not make every new photo OOD


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
    target_overkill: float | None = None    # the stated false-alarm rate the threshold was set for
    expected_overkill: float | None = None  # what n_scored scores can promise: <= target when n is large enough
    ood_limit: float | None = None          # cosine distance to the nearest reference beyond which a query is OOD
    ood_normals: int = 0                    # how many leave-one-out nearest distances the limit rests on
    computed_at: str = ""                   # UTC time of the computation (ISO 8601)
    few_shot_threshold: float | None = None  # the few-shot map's own level when a text map is fused (None: threshold)
    band_threshold: float | None = None      # a time series' band deviation limit (None: no band part fused)
    band_normals: int = 0                    # how many held-out normal band deviations it rests on
    digest: str = ""     # of every field above (`sealed`); "" = never sealed

    def to_dict(self) -> dict:
        return asdict(self)

    def content_digest(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if k != "digest"}
        for name in ("few_shot_threshold", "band_threshold", "band_normals"):
            if not fields[name]:                # entries sealed before the field existed keep their digest
                del fields[name]
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]

    def sealed(self) -> Calibration:
        return replace(self, digest=self.content_digest())

    @property
    def scale(self) -> float:
        """The few-shot map's decision level: what puts it in anomaly-score units (the text map is fused in
        those units); the threshold itself unless a fused calibration set them apart."""
        return self.threshold if self.few_shot_threshold is None else self.few_shot_threshold

    def usable(self) -> bool:
        """Finite, positive threshold and statistics, and the digest matches the values."""
        numbers = (self.threshold, self.mean, self.std, self.scale)
        numbers += tuple(v for v in (self.ood_limit, self.band_threshold) if v is not None)
        finite = all(isinstance(v, (int, float)) and math.isfinite(v) for v in numbers)
        band = self.band_threshold is None or self.band_threshold > 0
        return finite and band and self.threshold > 0 and self.scale > 0 and self.digest == self.content_digest()

    def operating_point(self) -> dict:
        """What the threshold promises, for the verdict: the stated and expected overkill, and on how many normals."""
        return {"target_overkill": self.target_overkill, "expected_overkill": self.expected_overkill,
                "normals": self.n_scored}

    def is_current(self, fingerprint: str, settings: str) -> bool:
        return self.fingerprint == fingerprint and self.settings == settings and self.usable()


def threshold_from_scores(scores: np.ndarray, z: float) -> tuple[float, float, float]:
    """(N,) leave-one-out scores of normal references -> (threshold, mean, std).

    The std is floored at 5% of the mean so two near-identical references still give a usable margin.
    """
    scores = np.asarray(scores, dtype=np.float64)
    mean = float(scores.mean())
    std = max(float(scores.std(ddof=1)) if scores.size > 1 else 0.0, 0.05 * abs(mean))
    return mean + z * std, mean, std


def conformal_rank(n: int, target_overkill: float) -> int:
    """1-based rank r = ceil((n + 1) * (1 - target)) of the threshold among n sorted scores, capped at n."""
    return min(n, max(1, int(np.ceil((n + 1) * (1.0 - target_overkill) - 1e-9))))


def expected_overkill(n: int, rank: int) -> float:
    """Probability that a new exchangeable normal score exceeds the rank-th smallest of n: (n + 1 - rank) / (n + 1)."""
    return (n + 1 - rank) / (n + 1)


def threshold_at_overkill(scores: np.ndarray, target_overkill: float) -> tuple[float, float, float, float]:
    """(N,) leave-one-out normal scores -> (threshold, mean, std, expected overkill), conformal quantile.

    The threshold is the r-th smallest score, r = conformal_rank(N, target). When N is too small for the
    target (N + 1 < 1 / target) it is the maximum, and the expected overkill 1 / (N + 1) exceeds the target:
    the returned value says so rather than pretending.
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64))
    rank = conformal_rank(scores.size, target_overkill)
    std = float(scores.std(ddof=1)) if scores.size > 1 else 0.0
    return float(scores[rank - 1]), float(scores.mean()), std, expected_overkill(scores.size, rank)


def nearest_other_distances(embeddings: np.ndarray) -> np.ndarray:
    """(N, D) unit-length embeddings -> (N,) cosine distance of each to its nearest other row (N >= 2)."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    similarity = embeddings @ embeddings.T
    np.fill_diagonal(similarity, -np.inf)
    return np.clip(1.0 - similarity.max(axis=1), 0.0, 2.0)


def ood_limit_from_distances(distances: np.ndarray, ood_overkill: float, margin: float) -> float:
    """(N,) leave-one-out nearest distances of normals -> the OOD limit: margin x their conformal quantile at
    `ood_overkill` (the maximum when N is small), the quantile floored at MIN_OOD_DISTANCE."""
    quantile, *_ = threshold_at_overkill(distances, ood_overkill)
    return margin * max(quantile, MIN_OOD_DISTANCE)


def spread_indices(n: int, limit: int) -> list[int]:
    """At most `limit` indices evenly spread over range(n) (all of them when n <= limit)."""
    if n <= limit:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, limit)})
