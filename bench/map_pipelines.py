"""Anomaly-map pipeline variants on cached backbone maps, for bench/map_quality.py (bench only).

A `Variant` spells out every stage that differs between the shipped few-shot map and plain PatchCore:
per-layer pooling before or after upsampling (and whether zero padding counts), Gaussian smoothing,
border handling, which references form the bank (k retrieved, k random, all), reference augmentation,
and the patch scoring (nearest patch, top-n mean of the map).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from retrieval import anomaly_map
from retrieval.patch_features import as_patches


@dataclass(frozen=True)
class Variant:
    label: str
    pool: str = "before"        # "before": 3x3 average per layer, then upsample (shipped); "after": upsample, one 3x3
    include_pad: bool = False   # zero padding counts in the 3x3 average (torch default) or not
    sigma: float = 1.0          # Gaussian smoothing of the grid, cells
    border: int = 0             # cells of the outer ring replaced by their nearest interior value
    top: int = 0                # image score = mean of the top-n cells (0 = max)
    score: str = "nn"           # patch score: "nn" nearest bank patch | "subspace" PCA residual | "maha" Mahalanobis
    refs: str = "k"             # "k" retrieved | "random" k | "all"
    k: int = 8
    augment: int = 1            # dihedral transforms of each reference: 1, 4 (flips) or 8 (flips + rotations)
    size: int = 224             # backbone input side
    window: int = 0             # match only reference patches within +-window cells of the query cell (0 = anywhere)
    product: bool = False       # the shipped functions with MapConfig() defaults (only k, refs, augment apply)
    rerank: str = ""            # refs="k": retrieve `candidates` by embedding, keep the k that fit best by
    candidates: int = 32        # "mean" nearest-patch distance | "greedy" coverage | "max" own map score
    reweight: int = 0           # PatchCore's density re-weighting of the image score over b bank neighbours (0 = off)
    flips: bool = False         # the query and its 3 flips, per-cell geometric mean of their maps (ClassConfig.flips)
    stored: bool = False        # bank patches as the store keeps them (feature_codec at the FeaturesConfig defaults)
    coreset: float = 0.0        # stored: this coreset fraction instead of the default

    def but(self, label: str, **changes) -> Variant:
        return replace(self, label=label, **changes)


def features(maps, v: Variant):
    """[(N, C_i, H_i, W_i)] -> (N, C, H, W) float32 patch features of variant `v`."""
    if v.product:
        from retrieval.config import MapConfig
        from retrieval.patch_features import aggregate

        return aggregate([m.float() for m in maps], MapConfig().neighbourhood)
    size = maps[0].shape[-2:]
    pool = lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=v.include_pad)  # noqa: E731
    parts = []
    for fmap in maps:
        fmap = fmap.float()
        if v.pool == "before":
            fmap = pool(fmap)
        if fmap.shape[-2:] != size:
            fmap = F.interpolate(fmap, size=size, mode="bilinear", align_corners=False)
        parts.append(fmap)
    out = torch.cat(parts, 1)
    return pool(out) if v.pool == "after" else out


def embeddings(feats) -> np.ndarray:
    """(N, C, H, W) -> (N, C) unit-length mean embeddings (what the reference store retrieves by)."""
    return F.normalize(feats.mean(dim=(2, 3)), dim=1).numpy()


def choose(query_emb: np.ndarray, ref_emb: np.ndarray, v: Variant, rng, exclude: int | None = None) -> np.ndarray:
    """Indices of the references forming the bank for one query."""
    n = ref_emb.shape[0]
    if v.refs == "all":
        idx = np.arange(n)
        return idx[idx != exclude] if exclude is not None else idx
    if v.refs == "random":
        pool = np.array([i for i in range(n) if i != exclude])
        return rng.choice(pool, size=min(v.k, len(pool)), replace=False)
    sim = ref_emb @ query_emb
    if exclude is not None:
        sim[exclude] = -np.inf
    return np.argsort(-sim)[: min(v.k, n - (exclude is not None))]


def rerank(query, ref_banks, candidates: np.ndarray, v: Variant) -> np.ndarray:
    """The k of `candidates` whose patches describe the query best (rule `v.rerank`)."""
    q = as_patches(query)
    dist = torch.stack([anomaly_map.nearest_patch_distance(q, ref_banks[j]) for j in candidates], 1)
    if v.rerank == "mean":
        return candidates[np.argsort(dist.mean(0).numpy())[: v.k]]
    if v.rerank == "max":                                 # each candidate's own smoothed map, its maximum
        grids = [anomaly_map.gaussian_smooth(d.reshape(query.shape[1:]).numpy(), v.sigma) for d in dist.T]
        return candidates[np.argsort([g.max() for g in grids])[: v.k]]
    chosen, cover = [], torch.full((q.shape[0],), float("inf"))
    for _ in range(min(v.k, len(candidates))):            # greedy: each step lowers the summed distance most
        total = torch.minimum(cover[:, None], dist).sum(0)
        total[chosen] = float("inf")
        chosen.append(int(total.argmin()))
        cover = torch.minimum(cover, dist[:, chosen[-1]])
    return candidates[chosen]


def pick(query, query_emb, ref_emb, ref_banks, v: Variant, rng, exclude: int | None = None) -> np.ndarray:
    """choose(), then the re-ranking of `v.candidates` retrieved ones when `v.rerank` is set."""
    if not v.rerank:
        return choose(query_emb, ref_emb, v, rng, exclude)
    return rerank(query, ref_banks, choose(query_emb, ref_emb, v.but(v.label, k=v.candidates), rng, exclude), v)


def replicate_border(grid: np.ndarray, ring: int) -> np.ndarray:
    if ring <= 0:
        return grid
    inner = grid[ring:-ring, ring:-ring]
    return np.pad(inner, ring, mode="edge")


def grid_score(query, bank, v: Variant, views=None) -> tuple[np.ndarray, float]:
    """(C, H, W) query, (N, C) bank -> ((H, W) map, image score). views: (4, C, H, W) features of the query
    as it is and flipped (`anomaly_map.FLIP_AXES` order), for a variant with flips."""
    if v.product:
        from retrieval.config import MapConfig

        cfg = MapConfig()
        grid = anomaly_map.distance_grid(query, bank, cfg.window).numpy()
        if v.flips:
            grid = anomaly_map.unflip_geomean([grid] + [anomaly_map.distance_grid(f, bank, cfg.window).numpy()
                                                        for f in views[1:]])
        grid = anomaly_map.gaussian_smooth(grid, cfg.sigma)
        return grid, anomaly_map.image_score(grid, cfg.top_fraction)
    if v.window > 0:
        grid = anomaly_map.windowed_distance(query, bank, v.window).numpy()
    else:
        grid = patch_scores(as_patches(query), bank, v.score).reshape(query.shape[1:]).numpy()
    grid = replicate_border(anomaly_map.gaussian_smooth(grid, v.sigma), v.border)
    flat = np.sort(grid.ravel())
    score = float(flat[-v.top:].mean() if v.top > 0 else flat[-1])
    return grid, score * density_weight(as_patches(query)[int(np.argmax(grid))], bank, v.reweight)


def density_weight(patch, bank, b: int) -> float:
    """PatchCore's w = 1 - exp|q - m*| / sum over the b bank neighbours m of m* of exp|q - m| (1 when b = 0):
    a query patch whose nearest bank patch sits in a sparse part of the bank scores higher."""
    if b <= 0:
        return 1.0
    d = torch.cdist(patch.float()[None], bank.float())[0]
    nearest = bank[int(d.argmin())].float()
    neighbours = torch.cdist(nearest[None], bank.float())[0].topk(b, largest=False).indices
    return float(1.0 - 1.0 / torch.exp(d[neighbours] - d.min()).sum())


def patch_scores(query, bank, kind: str):
    """(P, C) query, (N, C) bank -> (P,) patch scores: nearest-patch distance, or a Gaussian of the bank's
    patches: residual norm off its 99 %-variance PCA sub-space (SubspaceAD-like), or Mahalanobis distance
    with a shrunk covariance (PaDiM-like, one Gaussian for all positions: k references are too few per cell)."""
    if kind == "nn":
        return anomaly_map.nearest_patch_distance(query, bank)
    mean = bank.mean(0)
    centred = bank - mean
    cov = centred.T @ centred / (bank.shape[0] - 1)
    q = query.float() - mean
    if kind == "maha":
        cov = cov + 0.01 * cov.diagonal().mean() * torch.eye(cov.shape[0])
        return (q * torch.linalg.solve(cov, q.T).T).sum(1).clamp_min(0).sqrt()
    values, vectors = torch.linalg.eigh(cov)
    keep = int((values.flip(0).cumsum(0) / values.sum() < 0.99).sum()) + 1
    basis = vectors[:, -keep:]
    return (q - (q @ basis) @ basis.T).norm(dim=1)


def banks(ref_feats, n_aug: int):
    """(R*A, C, H, W) features, references major -> list of (A*H*W, C) patch banks per reference."""
    per = ref_feats.reshape(-1, n_aug, *ref_feats.shape[1:])
    return [torch.cat([as_patches(f) for f in group]) for group in per]


def stored_banks(ref_feats, coreset: float = 0.0) -> list:
    """(R, C, H, W) features -> each reference's (N, C) bank as the product stores it and reads it back
    (`retrieval.feature_codec` at the `FeaturesConfig` defaults; or this coreset fraction)."""
    from retrieval.config import FeaturesConfig

    return encoded_banks(ref_feats, FeaturesConfig(coreset=coreset) if coreset else FeaturesConfig())[0]


def encoded_banks(ref_feats, encoding) -> tuple[list, float]:
    """Each reference's bank as read back from its file in `encoding` — with `pca`, projected on the class
    basis the product fits (`retrieval.feature_basis`, on 64 references spread over the class) and mapped back to the
    C channels when read, so queries are scored unprojected as in the product — and the mean bytes per
    reference (+ the class's basis file shared out over its references)."""
    from retrieval import feature_basis, feature_codec

    grids = [ref_feats[i].numpy() for i in feature_basis.spread(len(ref_feats))]
    basis = feature_basis.fit(grids, encoding.pca) if encoding.pca else None
    shared = len(feature_basis.to_bytes(basis)) / len(ref_feats) if basis is not None else 0
    banks, sizes = [], []
    for feats in ref_feats:
        data = feature_codec.encode(feats.numpy(), encoding, basis)
        stored, problem = feature_codec.decode(data, lambda _: basis)
        assert problem is None, problem
        banks.append(torch.from_numpy(stored.bank))
        sizes.append(len(data) + shared)
    return banks, float(np.mean(sizes))


def run(query_feats, ref_feats, ref_banks, v: Variant, seed: int = 0, views=None):
    """Score every query -> (scores (T,), grids (T, H, W)); ref_feats are the unaugmented features;
    views (T, 4, C, H, W): the queries as they are and flipped, for a variant with flips."""
    rng = np.random.default_rng(seed)
    ref_emb, q_emb = embeddings(ref_feats), embeddings(query_feats)
    full = torch.cat(ref_banks) if v.refs == "all" else None
    scores, grids = [], []
    for i in range(query_feats.shape[0]):
        bank = full if full is not None else torch.cat(
            [ref_banks[j] for j in pick(query_feats[i], q_emb[i], ref_emb, ref_banks, v, rng)])
        grid, score = grid_score(query_feats[i], bank, v, None if views is None else views[i])
        scores.append(score)
        grids.append(grid)
    return np.array(scores), np.stack(grids)


def leave_one_out(ref_feats, ref_banks, v: Variant, limit: int = 64, views=None) -> np.ndarray:
    """Scores of (at most `limit`, evenly spread) references against their k nearest other references
    (views (R, 4, C, H, W): the references as they are and flipped, for a variant with flips)."""
    from retrieval.calibration import spread_indices

    rng = np.random.default_rng(0)
    ref_emb = embeddings(ref_feats)
    out = []
    for i in spread_indices(ref_feats.shape[0], limit):
        chosen = pick(ref_feats[i], ref_emb[i], ref_emb, ref_banks,
                      v.but(v.label, refs="k" if v.refs == "all" else v.refs), rng, exclude=i)
        out.append(grid_score(ref_feats[i], torch.cat([ref_banks[j] for j in chosen]), v,
                              None if views is None else views[i])[1])
    return np.array(out)
