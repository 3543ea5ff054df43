"""One continuous anomaly score from two witnesses: the anomaly map and the language model.

Both are first normalised by their own per-class threshold, calibrated on normal references only, so
1.0 means "at the threshold" for each; the fused score is their weighted mean, so 1.0 stays the decision
boundary. With no model probability (vision-only, unparsed, or a backend without logits) the map score
stands alone.
"""

from __future__ import annotations

import numpy as np

P_FLOOR = 0.05   # a model threshold never sits below this, so a near-zero normal P cannot inflate scores


def model_threshold(p_normals: list[float], z: float) -> float:
    """P(anomalous) of the model on normal references -> its threshold, in (P_FLOOR, 1]."""
    if not p_normals:
        return 0.5
    values = np.asarray(p_normals, dtype=np.float64)
    spread = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(np.clip(values.mean() + z * spread, P_FLOOR, 1.0))


def fuse(map_ratio: float, p_anomalous: float | None, p_threshold: float, weight: float) -> float:
    """map_ratio = map score / map threshold; returns the fused score (1.0 = threshold)."""
    if p_anomalous is None or weight <= 0:
        return float(map_ratio)
    return float((1.0 - weight) * map_ratio + weight * (p_anomalous / p_threshold))
