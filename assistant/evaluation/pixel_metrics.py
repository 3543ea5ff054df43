"""Pixel-level localisation metrics of one class: pixel AUROC and AUPRO (MVTec AD's per-region overlap).

Inputs: `maps`, a sequence of (H, W) float anomaly maps (higher = more anomalous), and `masks`, a
sequence of (H, W) ground-truth masks at the same resolution as their map (bool, or numbers where > 0
is defect; a good image's mask is all False). Images may differ in size from each other.

Both metrics come from one histogram over *score groups*; per group: defect pixels, normal pixels, and
the summed region-overlap weight of its defect pixels (1 / size of the pixel's ground-truth region;
regions are 8-connected components, as in the MVTec AD reference code).
- exact path (the class has ≤ `max_exact_pixels` pixels): one group per distinct pixel value. Pixel
  AUROC equals scikit-learn's `roc_auc_score` on the flattened pixels; AUPRO equals the MVTec AD
  reference (tied scores are one curve point; trapezoids up to FPR 0.3, interpolated there; / 0.3).
- binned path (bounded memory, O(n_bins + one image)): `n_bins` equal-mass bins whose edges are
  quantiles of a deterministic (seed 0) subsample of `max_exact_pixels` pixels. The error is bounded,
  and the bound is returned: pixel AUROC counts pairs inside one bin as ties, so its error is at most
  ½·Σ_b pos_b·neg_b / (P·N); AUPRO replaces the curve inside a bin by its chord, so its error is at most
  (Σ_{bins below the limit} Δfpr_b·Δpro_b / 2 + (limit − fpr_0)·Δpro of the bin crossing it) / limit.
  With the defaults the bounds are typically < 1e-3; the returned numbers say so for each run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

FPR_LIMIT = 0.3
MAX_EXACT_PIXELS = 1 << 22  # ≈ 4.2 M pixels (≈ 130 MB of working arrays) before binning
N_BINS = 16384


class ScoreHistogram(NamedTuple):
    """Per score group, ascending by score: pos (G,), neg (G,), overlap (G,) sums; n_regions scalar."""

    pos: np.ndarray
    neg: np.ndarray
    overlap: np.ndarray
    n_regions: int


def _validated(maps: Sequence, masks: Sequence) -> list[tuple[np.ndarray, np.ndarray]]:
    """→ [(map (H, W) float64, mask (H, W) bool)]; ValueError on mismatched or non-finite input."""
    if len(maps) != len(masks):
        raise ValueError(f"{len(maps)} maps but {len(masks)} masks")
    pairs = []
    for i, (amap, mask) in enumerate(zip(maps, masks)):
        amap, mask = np.asarray(amap, dtype=np.float64), np.asarray(mask)
        if amap.ndim != 2 or amap.shape != mask.shape:
            raise ValueError(f"image {i}: map {amap.shape} and mask {mask.shape} must be the same (H, W)")
        if not np.isfinite(amap).all():
            raise ValueError(f"image {i}: anomaly map holds NaN or inf")
        pairs.append((amap, mask if mask.dtype == bool else mask > 0))
    return pairs


def region_weights(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """(H, W) bool → ((H, W) float64: 1 / size of the pixel's 8-connected region, 0 outside; n regions)."""
    from scipy import ndimage  # installed with scikit-learn / sentence-transformers; imported on use

    labels, n_regions = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(labels.ravel()).astype(np.float64)
    sizes[0] = np.inf
    return 1.0 / sizes[labels], int(n_regions)


def _group_counts(groups: np.ndarray, mask: np.ndarray, n_groups: int) -> tuple[np.ndarray, ...]:
    """groups (H, W) int group ids, mask (H, W) → (pos, neg, overlap) (G,) and the image's region count."""
    weights, n_regions = region_weights(mask)
    flat = groups.ravel()
    pos = np.bincount(flat, weights=mask.ravel(), minlength=n_groups)
    neg = np.bincount(flat, weights=~mask.ravel(), minlength=n_groups)
    return pos, neg, np.bincount(flat, weights=weights.ravel(), minlength=n_groups), n_regions


def _accumulate(group_maps, masks, n_groups: int) -> ScoreHistogram:
    """Sum the per-image group counts (one image at a time, so memory stays O(G + one image))."""
    total = [np.zeros(n_groups), np.zeros(n_groups), np.zeros(n_groups), 0]
    for groups, mask in zip(group_maps, masks):
        for j, part in enumerate(_group_counts(groups, mask, n_groups)):
            total[j] = total[j] + part
    return ScoreHistogram(*total)


def exact_histogram(pairs: list[tuple[np.ndarray, np.ndarray]]) -> ScoreHistogram:
    """One group per distinct pixel value over all images (memory O(all pixels))."""
    values, inverse = np.unique(np.concatenate([m.ravel() for m, _ in pairs]), return_inverse=True)
    bounds = np.cumsum([0] + [m.size for m, _ in pairs])
    group_maps = (inverse.ravel()[a:b].reshape(m.shape) for (m, _), a, b in zip(pairs, bounds, bounds[1:]))
    return _accumulate(group_maps, [k for _, k in pairs], values.size)


def bin_edges(pairs: list[tuple[np.ndarray, np.ndarray]], sample_size: int, n_bins: int) -> np.ndarray:
    """Interior edges of `n_bins` equal-mass bins: quantiles of a seeded subsample of ≈ sample_size px."""
    rng = np.random.default_rng(0)
    total = sum(m.size for m, _ in pairs)
    take = [min(m.size, int(np.ceil(sample_size * m.size / total))) for m, _ in pairs]
    sample = np.concatenate([rng.choice(m.ravel(), k, replace=False) for (m, _), k in zip(pairs, take)])
    return np.unique(np.quantile(sample, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]))


def binned_histogram(pairs: list[tuple[np.ndarray, np.ndarray]], edges: np.ndarray) -> ScoreHistogram:
    """Group g holds the pixels with edges[g-1] <= value < edges[g] (memory O(bins + one image))."""
    group_maps = (np.searchsorted(edges, m, side="right") for m, _ in pairs)
    return _accumulate(group_maps, [k for _, k in pairs], edges.size + 1)


def auroc_from_histogram(h: ScoreHistogram) -> tuple[float, float] | None:
    """→ (AUROC, max error from pairs inside one group counted as ties); None without both pixel kinds."""
    n_pos, n_neg = h.pos.sum(), h.neg.sum()
    if n_pos == 0 or n_neg == 0:
        return None
    neg_below = np.cumsum(h.neg) - h.neg
    pairs = n_pos * n_neg
    auc = np.sum(h.pos * (neg_below + 0.5 * h.neg)) / pairs
    return float(auc), float(0.5 * np.sum(h.pos * h.neg) / pairs)


def pro_curve(h: ScoreHistogram) -> tuple[np.ndarray, np.ndarray] | None:
    """→ (fpr (G+1,), pro (G+1,)) from (0, 0), thresholds descending; None without regions or normals."""
    n_neg = h.neg.sum()
    if h.n_regions == 0 or n_neg == 0:
        return None
    fpr = np.r_[0.0, np.cumsum(h.neg[::-1]) / n_neg]
    pro = np.r_[0.0, np.cumsum(h.overlap[::-1]) / h.n_regions]
    return np.minimum(fpr, 1.0), np.minimum(pro, 1.0)


def area_to_limit(x: np.ndarray, y: np.ndarray, limit: float) -> tuple[float, float]:
    """Trapezoid area under the monotone polyline (x, y), x from 0 to `limit` (y interpolated there)
    → (area, max error had each segment been a chord of an unknown monotone curve)."""
    k = int(np.searchsorted(x, limit, side="right"))  # x[:k] <= limit < x[k:]
    xs, ys = x[:k], y[:k]
    crossing = 0.0
    if k < x.size:
        t = (limit - x[k - 1]) / (x[k] - x[k - 1])
        xs, ys = np.r_[xs, limit], np.r_[ys, y[k - 1] + t * (y[k] - y[k - 1])]
        crossing = (limit - x[k - 1]) * (y[k] - y[k - 1])
    area = float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2.0))
    return area, float(np.sum(np.diff(x[:k]) * np.diff(y[:k])) / 2.0 + crossing)


def aupro_from_histogram(h: ScoreHistogram, fpr_limit: float = FPR_LIMIT) -> tuple[float, float] | None:
    """→ (AUPRO normalised by fpr_limit, max error if groups are bins); None without regions."""
    curve = pro_curve(h)
    if curve is None:
        return None
    area, error = area_to_limit(*curve, fpr_limit)
    return area / fpr_limit, error / fpr_limit


def histogram(maps: Sequence, masks: Sequence, max_exact_pixels: int = MAX_EXACT_PIXELS,
              n_bins: int = N_BINS) -> tuple[ScoreHistogram, str]:
    """→ (score histogram, "exact" | "binned"); exact while the class has ≤ max_exact_pixels pixels."""
    pairs = _validated(maps, masks)
    if sum(m.size for m, _ in pairs) <= max_exact_pixels:
        return exact_histogram(pairs), "exact"
    return binned_histogram(pairs, bin_edges(pairs, max_exact_pixels, n_bins)), "binned"


def _value_and_error(result: tuple[float, float] | None, method: str) -> tuple:
    """(value, bound) → (value, 0.0) on the exact path (groups are true ties); None → (None, None)."""
    if result is None:
        return None, None
    return result[0], 0.0 if method == "exact" else result[1]


def pixel_metrics(maps: Sequence, masks: Sequence, *, fpr_limit: float = FPR_LIMIT,
                  max_exact_pixels: int = MAX_EXACT_PIXELS, n_bins: int = N_BINS) -> dict:
    """→ {"pixel_auroc", "aupro", "pixel_method", "pixel_auroc_max_error", "aupro_max_error"} (JSON-ready).
    A metric the masks cannot define (no defect or no normal pixels, no images) and its bound are None."""
    if len(maps) == 0:
        return {"pixel_auroc": None, "aupro": None, "pixel_method": None,
                "pixel_auroc_max_error": None, "aupro_max_error": None}
    if not 0.0 < fpr_limit <= 1.0:
        raise ValueError(f"fpr_limit must be in (0, 1], got {fpr_limit}")
    h, method = histogram(maps, masks, max_exact_pixels, n_bins)
    auc = _value_and_error(auroc_from_histogram(h), method)
    pro = _value_and_error(aupro_from_histogram(h, fpr_limit), method)
    return {"pixel_auroc": auc[0], "aupro": pro[0], "pixel_method": method,
            "pixel_auroc_max_error": auc[1], "aupro_max_error": pro[1]}


def pixel_auroc(maps: Sequence, masks: Sequence, **options) -> float | None:
    """AUROC over every pixel of the class, defect pixels positive (see the module doc for the paths)."""
    return pixel_metrics(maps, masks, **options)["pixel_auroc"]


def aupro(maps: Sequence, masks: Sequence, fpr_limit: float = FPR_LIMIT, **options) -> float | None:
    """Area under the per-region-overlap curve up to `fpr_limit`, divided by it (1.0 = perfect)."""
    return pixel_metrics(maps, masks, fpr_limit=fpr_limit, **options)["aupro"]
