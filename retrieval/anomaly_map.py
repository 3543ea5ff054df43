"""Few-shot, training-free anomaly maps: pure functions on tensors and arrays, no I/O.

A query's patch features are compared with the patch features of its k retrieved normal references;
each query patch scores the distance to its nearest reference patch. The grid map is smoothed and
upsampled to the image; the image score is the map's maximum (or the mean of its top fraction).
Normality addition (NAND) suppresses regions described as normal: A' = A * (1 - A_sup).
"""

from __future__ import annotations

import math

import numpy as np


def nearest_patch_distance(query, bank, chunk: int = 32768):
    """query (P, C), bank (N, C) float tensors -> (P,) Euclidean distance of each query patch to its nearest bank patch.

    Exact, in float32: min over the bank of |b|^2 - 2 q.b (one matrix product per `chunk` bank patches,
    running minimum), then + |q|^2, clamped at 0, square root. A full-memory bank (PatchCore over every
    reference patch: 230k-360k patches on ELPV) is one pass without a (P, N) matrix in memory.
    """
    import torch

    query = query.float()
    best = torch.full((query.shape[0],), float("inf"))
    for start in range(0, bank.shape[0], chunk):
        part = bank[start:start + chunk].float()
        scores = torch.addmm((part * part).sum(1)[None, :], query, part.T, alpha=-2.0)
        best = torch.minimum(best, scores.amin(dim=1))
    return (best + (query * query).sum(1)).clamp_min(0).sqrt()


def windowed_distance(query, bank, window: int):
    """(C, H, W) query, (R*H*W, C) bank of R whole reference grids (`as_patches` rows, reference-major) ->
    (H, W) distance of each query cell to its nearest bank patch within +-`window` cells (Chebyshev) of the
    same position: position-aware matching for aligned parts (the same cell of the same product)."""
    import torch

    _, h, w = query.shape
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    ys, xs = ys.flatten(), xs.flatten()
    far = ((ys[:, None] - ys[None, :]).abs() > window) | ((xs[:, None] - xs[None, :]).abs() > window)
    q = query.float().flatten(1).T
    bank = bank.float()
    scores = torch.addmm((bank * bank).sum(1)[None, :], q, bank.T, alpha=-2.0).reshape(h * w, -1, h * w)
    best = scores.masked_fill_(far[:, None, :], float("inf")).amin(dim=(1, 2))
    return (best + (q * q).sum(1)).clamp_min(0).sqrt().reshape(h, w)


def distance_grid(query, bank, window: int = 0):
    """(C, H, W) query, (N, C) bank of whole reference grids -> (H, W) nearest-patch distance map:
    over the whole bank, or within +-`window` cells of each query cell when window > 0 (`MapConfig.window`)."""
    import torch

    query = torch.as_tensor(query)
    if window > 0:
        return windowed_distance(query, bank, window)
    return nearest_patch_distance(query.flatten(1).T, bank).reshape(query.shape[1:])


FLIP_AXES = ((), (1,), (0,), (0, 1))       # identity, horizontal flip, vertical flip, 180-degree turn


def unflip_geomean(grids, floor: float = 1e-6) -> np.ndarray:
    """Four (H, W) distance maps of a query as it is, flipped left-right, flipped top-bottom and turned 180
    degrees (`FLIP_AXES` order) -> (H, W) per-cell geometric mean with each flip undone: a cell is warm only
    where every view of it is far from the references (test-time flips; `ClassConfig.flips`)."""
    if len(grids) != len(FLIP_AXES):
        raise ValueError(f"expected {len(FLIP_AXES)} maps (as is, left-right, top-bottom, 180), got {len(grids)}")
    logs = [np.log(np.maximum(np.flip(np.asarray(g, np.float64), axes) if axes else np.asarray(g, np.float64),
                              floor)) for g, axes in zip(grids, FLIP_AXES)]
    return np.exp(np.mean(logs, axis=0)).astype(np.float32)


def gaussian_smooth(grid: np.ndarray, sigma: float) -> np.ndarray:
    """(H, W) -> (H, W) Gaussian-smoothed (separable, reflect padding); sigma in cells, <= 0 returns a copy."""
    if sigma <= 0:
        return grid.astype(np.float32, copy=True)
    radius = max(1, int(math.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(grid.astype(np.float32), radius, mode="reflect")
    rows = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), 1, padded)
    return np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="valid"), 0, rows)


def upsample(grid: np.ndarray, height: int, width: int) -> np.ndarray:
    """(h, w) -> (height, width) bilinear resize of a map, values preserved in range."""
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(grid, dtype=np.float32))[None, None]
    return F.interpolate(tensor, size=(height, width), mode="bilinear", align_corners=False)[0, 0].numpy()


def image_score(grid: np.ndarray, top_fraction: float = 0.0) -> float:
    """(H, W) map -> scalar: the max, or the mean of the top `top_fraction` of cells."""
    flat = grid.ravel()
    if top_fraction <= 0:
        return float(flat.max())
    count = max(1, int(round(flat.size * top_fraction)))
    return float(np.partition(flat, flat.size - count)[-count:].mean())


def hot_region(grid: np.ndarray, level: float) -> tuple[int, int, int, int] | None:
    """(H, W) map -> (x0, y0, x1, y1) box (cells, x1/y1 exclusive) of the 4-connected region of cells
    >= level that contains the map's maximum; None when the maximum is below `level`."""
    peak = np.unravel_index(int(np.argmax(grid)), grid.shape)
    if grid[peak] < level:
        return None
    inside = grid >= level
    seen = np.zeros_like(inside)
    stack = [peak]
    seen[peak] = True
    while stack:
        y, x = stack.pop()
        for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            if 0 <= ny < grid.shape[0] and 0 <= nx < grid.shape[1] and inside[ny, nx] and not seen[ny, nx]:
                seen[ny, nx] = True
                stack.append((ny, nx))
    ys, xs = np.nonzero(seen)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def scale_box(box, grid_shape, image_size) -> list[int]:
    """Box in grid cells (x0, y0, x1, y1) -> box in image pixels for an image of (width, height)."""
    gh, gw = grid_shape
    width, height = image_size
    x0, y0, x1, y1 = box
    return [int(x0 * width / gw), int(y0 * height / gh),
            int(math.ceil(x1 * width / gw)), int(math.ceil(y1 * height / gh))]


def suppress(grid: np.ndarray, suppression: np.ndarray) -> np.ndarray:
    """NAND normality addition: (H, W) map and (H, W) suppression in [0, 1] -> A * (1 - A_sup)."""
    return grid * (1.0 - np.clip(suppression, 0.0, 1.0))
