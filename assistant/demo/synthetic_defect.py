"""Synthetic defects with known masks, painted on real normal images (for the demo, tests and benchmarks).

Each defect kind changes a region the way real surface defects do — a thin dark scratch, a coloured
stain, a missing chunk that shows the darker, flat substrate underneath — and returns the exact mask
of the pixels it changed.
"""

from __future__ import annotations

import numpy as np

DEFECT_KINDS = ("scratch", "stain", "missing")


def tiles(texture: np.ndarray, size: int) -> list[np.ndarray]:
    """(H, W) or (H, W, 3) uint8 -> non-overlapping (size, size, 3) uint8 tiles, row by row."""
    rgb = np.repeat(texture[..., None], 3, axis=2) if texture.ndim == 2 else texture
    rows, cols = rgb.shape[0] // size, rgb.shape[1] // size
    return [rgb[r * size:(r + 1) * size, c * size:(c + 1) * size].copy() for r in range(rows) for c in range(cols)]


def add_defect(image: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 -> (defective copy, (H, W) bool mask of the changed pixels)."""
    if kind not in DEFECT_KINDS:
        raise ValueError(f"defect kind must be one of {DEFECT_KINDS}, got {kind!r}")
    height, width = image.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx = rng.uniform(0.3, 0.7) * height, rng.uniform(0.3, 0.7) * width
    if kind == "scratch":
        angle = rng.uniform(0, np.pi)
        along = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        across = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        mask = (np.abs(across) <= max(1.5, height / 80)) & (np.abs(along) <= 0.3 * min(height, width))
        value = np.full(3, 10.0)
    elif kind == "stain":
        radius = rng.uniform(0.08, 0.14) * min(height, width)
        mask = (xx - cx) ** 2 + ((yy - cy) * 1.3) ** 2 <= radius ** 2
        value = np.array([150.0, 90.0, 40.0])
    else:
        half = rng.uniform(0.08, 0.13) * min(height, width)
        mask = (np.abs(xx - cx) <= half) & (np.abs(yy - cy) <= half)
        value = np.full(3, 0.4 * float(image.mean()))
    out = image.astype(np.float32)
    out[mask] = 0.15 * out[mask] + 0.85 * value
    return out.clip(0, 255).astype(np.uint8), mask
