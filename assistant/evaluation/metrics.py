"""Image-level evaluation metrics, and per-class summaries of evaluated images for metrics.json.

labels (N,): 0 good / 1 defective, *defective is the positive class*. scores (N,): finite floats, higher
= more anomalous (`anomaly_score`, 1.0 = class threshold). decisions (N,): 1 rejected / 0 passed (for a
verdict, 1 - correctness). A metric the input cannot define (empty, or the class it divides by absent)
is None, never NaN or an exception (null in JSON); malformed arrays are a ValueError. Ranking metrics
read the continuous score, never the 0/1 decision (the source paper's AUROC on 0/1 outputs was one point).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.verdict import STATUSES

THRESHOLD = 1.0  # scores are normalised so that the class threshold is 1.0; anomalous iff score > 1.0
COUNT_KEYS = ("n", "n_good", "n_defective", "n_unparsed", "n_vision_only", "tp", "fp", "tn", "fn")


def _binary(values, name: str) -> np.ndarray:
    """(N,) 0/1 values → (N,) bool."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 (good) and 1 (defective)")
    return arr.astype(bool)


def _validated(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """→ (pos (N,) bool, scores (N,) float64); raises ValueError on mismatched or non-finite input."""
    pos = _binary(labels, "labels")
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != pos.shape:
        raise ValueError(f"scores shape {s.shape} does not match labels shape {pos.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite (no NaN or inf)")
    return pos, s


def average_ranks(x: np.ndarray) -> np.ndarray:
    """(N,) floats → (N,) 1-based ranks; tied values share the mean of the ranks they span."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse.reshape(-1)]


def auroc(labels, scores) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with average ranks, so ties count one half)."""
    pos, s = _validated(labels, scores)
    if not pos.any() or pos.all():  # one class only (or empty)
        return None
    n_pos = float(pos.sum())
    n_neg = pos.size - n_pos
    u = average_ranks(s)[pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _threshold_counts(pos: np.ndarray, s: np.ndarray):
    """Per distinct score, descending → (thresholds, tp, fp): counts of samples with score >= threshold."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, p_sorted = s[order], pos[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
    tp = np.cumsum(p_sorted)[last].astype(np.float64)
    return s_sorted[last], tp, (last + 1) - tp


def _curve_counts(labels, scores):
    """→ (n_pos, n_neg, tp, fp) per distinct score (descending), or None unless both classes are present."""
    pos, s = _validated(labels, scores)
    if not pos.any() or pos.all():  # one class only (or empty)
        return None
    _, tp, fp = _threshold_counts(pos, s)
    return pos.sum(), (~pos).sum(), tp, fp


def roc_curve(labels, scores) -> tuple[np.ndarray, np.ndarray] | None:
    """→ (fpr (K+1,), tpr (K+1,)) from (0, 0) over the K distinct scores, descending; None if one class."""
    if (counts := _curve_counts(labels, scores)) is None:
        return None
    n_pos, n_neg, tp, fp = counts
    return np.r_[0.0, fp / n_neg], np.r_[0.0, tp / n_pos]


def pr_curve(labels, scores) -> tuple[np.ndarray, np.ndarray] | None:
    """→ (recall (K+1,), precision (K+1,)), defective = positive, starting at (0, 1); None if one class."""
    if (counts := _curve_counts(labels, scores)) is None:
        return None
    n_pos, _, tp, fp = counts
    return np.r_[0.0, tp / n_pos], np.r_[1.0, tp / (tp + fp)]


def aupr(labels, scores) -> float | None:
    """Average precision, *defective* positive: Σ_k (R_k − R_{k−1})·P_k, tied scores one operating
    point, no interpolation (scikit-learn's `average_precision_score` definition)."""
    if (curve := pr_curve(labels, scores)) is None:
        return None
    recall, precision = curve
    return float(np.sum(np.diff(recall) * precision[1:]))


def aupr_normal_positive(labels, scores) -> float | None:
    """The source paper's convention, side by side: AP with *good* parts positive, ranked by −score.
    Its chance level is the share of good parts, not of defects; never the headline AUPR."""
    pos, s = _validated(labels, scores)
    return aupr((~pos).astype(int), -s)


def f1_at(labels, scores, threshold: float = THRESHOLD) -> float | None:
    """F1 of the defective class rejecting iff score > threshold; None when no part is defective."""
    pos, s = _validated(labels, scores)
    return f1(pos.astype(int), (s > threshold).astype(int))


def f1(labels, decisions) -> float | None:
    """F1 of the defective class for 0/1 decisions; None when no part is defective."""
    c = confusion(labels, decisions)
    if c["tp"] + c["fn"] == 0:
        return None
    return 2.0 * c["tp"] / (2.0 * c["tp"] + c["fp"] + c["fn"])


def _cut_below(thresholds: np.ndarray, k: int) -> float:
    """A threshold t such that (score > t) == (score >= thresholds[k]) for every score in the data."""
    hi = thresholds[k]
    if k + 1 == thresholds.size:
        return float(hi - 1e-6 * max(1.0, abs(hi)))  # below every score: reject all
    lo = thresholds[k + 1]
    mid = lo + (hi - lo) / 2.0
    return float(mid if lo <= mid < hi else lo)


def f1_max(labels, scores) -> tuple[float, float] | None:
    """Best F1 over thresholds → (f1, t) with f1_at(labels, scores, t) == f1; None without defects."""
    pos, s = _validated(labels, scores)
    if not pos.any():
        return None
    thresholds, tp, fp = _threshold_counts(pos, s)
    scores_f1 = 2.0 * tp / (tp + fp + pos.sum())
    k = int(np.argmax(scores_f1))
    return float(scores_f1[k]), _cut_below(thresholds, k)


def confusion(labels, decisions) -> dict[str, int]:
    """→ {"tp", "fp", "tn", "fn"}: tp defect rejected, fp good part rejected, fn defect passed."""
    pos = _binary(labels, "labels")
    rej = _binary(decisions, "decisions")
    if rej.shape != pos.shape:
        raise ValueError(f"decisions shape {rej.shape} does not match labels shape {pos.shape}")
    cells = {"tp": pos & rej, "fp": ~pos & rej, "tn": ~pos & ~rej, "fn": pos & ~rej}
    return {k: int(v.sum()) for k, v in cells.items()}


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def accuracy(labels, decisions) -> float | None:
    """Fraction of parts decided correctly; None when empty."""
    c = confusion(labels, decisions)
    return _ratio(c["tp"] + c["tn"], sum(c.values()))


def balanced_accuracy(labels, decisions) -> float | None:
    """Mean of the recall on defective and on good parts; None unless both classes are present."""
    c = confusion(labels, decisions)
    tpr, tnr = _ratio(c["tp"], c["tp"] + c["fn"]), _ratio(c["tn"], c["tn"] + c["fp"])
    return None if tpr is None or tnr is None else (tpr + tnr) / 2.0


def overkill_rate(labels, decisions) -> float | None:
    """Good parts rejected / good parts (false-positive rate); None when there are no good parts."""
    c = confusion(labels, decisions)
    return _ratio(c["fp"], c["fp"] + c["tn"])


def miss_rate(labels, decisions) -> float | None:
    """Defective parts passed / defective parts (false-negative rate); None when there are no defects."""
    c = confusion(labels, decisions)
    return _ratio(c["fn"], c["fn"] + c["tp"])


@dataclass(frozen=True)
class ImageRecord:
    """One evaluated image: label 0 good / 1 defective; score 1.0 = class threshold; decision 1 rejected /
    0 passed / None (gave none); status "ok" | "unparsed" | "vision_only".

    Unparsed verdicts are never dropped: their score ranks them like any other image, and the decision
    metrics count what the system did: the verdict's own decision or, when it carries none, *rejected*
    (an unreadable answer cannot pass a part; it goes to a human)."""

    class_name: str
    label: int
    score: float
    decision: int | None
    status: str = "ok"
    path: str = ""

    def __post_init__(self):
        if self.label not in (0, 1):
            raise ValueError(f"label must be 0 (good) or 1 (defective), got {self.label!r}")
        if self.decision not in (0, 1, None):
            raise ValueError(f"decision must be 0 (pass), 1 (reject) or None, got {self.decision!r}")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if not np.isfinite(self.score):
            raise ValueError(f"score must be finite, got {self.score!r} for {self.path or self.class_name}")

    @property
    def rejected(self) -> int:
        """The decision counted in the metrics (no decision → rejected)."""
        return 1 if self.decision is None else self.decision

    @classmethod
    def from_verdict(cls, verdict: Mapping, *, class_name: str, label: int, path: str = "") -> "ImageRecord":
        """From `Verdict.to_dict()` or the `inspect --json` object; decision = 1 − correctness."""
        correctness = verdict.get("correctness")
        decision = None if correctness is None else 1 - int(correctness)
        return cls(class_name, int(label), float(verdict["anomaly_score"]), decision,
                   verdict.get("status", "ok"), str(path))


def summarise(records: Sequence[ImageRecord], pixel: Mapping | None = None) -> dict:
    """One class's records → its JSON-ready metrics.json dict. `pixel` (`pixel_metrics.pixel_metrics`)
    fills pixel_auroc / aupro (else None). acc, balanced_acc, f1, overkill, miss, tp/fp/tn/fn count
    `ImageRecord.rejected`; f1_at_thr rejects at score > 1.0; auroc, aupr*, f1_max rank by score."""
    y = np.array([r.label for r in records], dtype=int)
    s = np.array([r.score for r in records], dtype=np.float64)
    d = np.array([r.rejected for r in records], dtype=int)
    best = f1_max(y, s)
    out = {
        "n": len(records), "n_good": int((y == 0).sum()), "n_defective": int((y == 1).sum()),
        "n_unparsed": sum(r.status == "unparsed" for r in records),
        "n_vision_only": sum(r.status == "vision_only" for r in records),
        "auroc": auroc(y, s), "aupr": aupr(y, s), "aupr_normal_positive": aupr_normal_positive(y, s),
        "acc": accuracy(y, d), "balanced_acc": balanced_accuracy(y, d), "f1": f1(y, d),
        "f1_at_thr": f1_at(y, s),
        "f1_max": best[0] if best else None, "f1_max_threshold": best[1] if best else None,
        "overkill": overkill_rate(y, d), "miss": miss_rate(y, d), **confusion(y, d),
        "pixel_auroc": None, "aupro": None,
    }
    out.update(pixel or {})
    return out


def summarise_classes(records: Sequence[ImageRecord], pixel: Mapping[str, Mapping] | None = None) -> dict:
    """All records → {class_name: summarise(...)} in sorted class order; `pixel` is keyed by class."""
    names = sorted({r.class_name for r in records})
    pixel = pixel or {}
    return {n: summarise([r for r in records if r.class_name == n], pixel.get(n)) for n in names}


def mean_metrics(per_class: Mapping[str, Mapping]) -> dict:
    """The "mean" block: macro mean over classes of every metric (None values ignored; None if all
    are None), totals of the counts (COUNT_KEYS), and n_classes. Thresholds, pixel_method: not averaged."""
    keys = sorted({k for m in per_class.values() for k in m} - {"f1_max_threshold", "pixel_method"})
    out: dict = {"n_classes": len(per_class)}
    for key in keys:
        values = [m.get(key) for m in per_class.values()]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if key in COUNT_KEYS:
            out[key] = int(sum(numbers))
        elif numbers or all(v is None for v in values):
            out[key] = float(np.mean(numbers)) if numbers else None
    return out


def metrics_document(per_class: Mapping, config: Mapping, strategies: Mapping | None = None) -> dict:
    """The metrics.json object: {"classes", "mean", "config"} and, for a prompting ablation,
    "strategies": {STRATEGY: {"classes": {...}, "mean": {...}}} (see ui/eval_report.py)."""
    doc = {"classes": dict(per_class), "mean": mean_metrics(per_class), "config": dict(config)}
    if strategies:
        doc["strategies"] = {k: {"classes": dict(v), "mean": mean_metrics(v)} for k, v in strategies.items()}
    return doc


def curves(labels, scores) -> dict | None:
    """JSON-ready ROC and PR curves for the report: {"roc": {"fpr", "tpr"}, "pr": {"recall", "precision"}}."""
    roc, pr = roc_curve(labels, scores), pr_curve(labels, scores)
    if roc is None or pr is None:
        return None
    return {"roc": {"fpr": roc[0].tolist(), "tpr": roc[1].tolist()},
            "pr": {"recall": pr[0].tolist(), "precision": pr[1].tolist()}}


def worst_cases(records: Sequence[ImageRecord], k: int = 3) -> list[dict]:
    """Per class, the k most confident wrong decisions: good parts rejected (highest score first,
    kind "false_positive") and defects passed (lowest score first, kind "false_negative")."""
    out = []
    for name in sorted({r.class_name for r in records}):
        mine = [r for r in records if r.class_name == name]
        fps = sorted((r for r in mine if r.label == 0 and r.rejected), key=lambda r: (-r.score, r.path))
        fns = sorted((r for r in mine if r.label == 1 and not r.rejected), key=lambda r: (r.score, r.path))
        for kind, chosen in (("false_positive", fps[:k]), ("false_negative", fns[:k])):
            out += [{"kind": kind, "class_name": name, "path": r.path, "score": r.score, "status": r.status}
                    for r in chosen]
    return out
