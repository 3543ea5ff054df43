"""Synthetic anomalies for training a class's text heads: cut-paste, scratches, stains, Perlin blotches.

CLAD needs abnormal patches to pair with the class's defect descriptions, and a fresh class has only
normal references. Each kind changes a region of a normal image the way a surface defect does and
returns the exact mask of what it changed. They are deliberately unlike the demo's painted defects
(`assistant/demo/synthetic_defect.py`, which the benchmarks score): random colours, curved strokes,
irregular shapes, texture moved from elsewhere — so a trained head is not tested on its own generator.
Everything is drawn from the `numpy` generator passed in (seeded by the caller).
"""

from __future__ import annotations

import numpy as np

ANOMALY_KINDS = ("cut_paste", "scratch", "stain", "perlin")


def synthesize(image: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 -> (anomalous copy, (H, W) bool mask of the changed pixels)."""
    makers = {"cut_paste": _cut_paste, "scratch": _scratch, "stain": _stain, "perlin": _perlin}
    if kind not in makers:
        raise ValueError(f"anomaly kind must be one of {ANOMALY_KINDS}, got {kind!r}")
    out, mask = makers[kind](image.astype(np.float32), rng)
    return out.clip(0, 255).astype(np.uint8), mask


def _cut_paste(image: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """A patch of the image itself, rotated and brightened, pasted elsewhere (CutPaste)."""
    height, width = image.shape[:2]
    ph, pw = (int(rng.uniform(0.12, 0.25) * s) + 2 for s in (height, width))
    sy, sx = rng.integers(0, height - ph), rng.integers(0, width - pw)
    patch = np.rot90(image[sy:sy + ph, sx:sx + pw], int(rng.integers(1, 4)))[:height, :width]
    patch = patch * rng.uniform(0.6, 1.5) + rng.uniform(-30, 30, size=3)
    ph, pw = patch.shape[:2]
    ty, tx = rng.integers(0, height - ph + 1), rng.integers(0, width - pw + 1)
    out, mask = image.copy(), np.zeros((height, width), bool)
    out[ty:ty + ph, tx:tx + pw] = patch
    mask[ty:ty + ph, tx:tx + pw] = True
    return out, mask


def _scratch(image: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """One or two thin curved strokes, dark or bright."""
    height, width = image.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width]
    mask = np.zeros((height, width), bool)
    for _ in range(int(rng.integers(1, 3))):
        t = np.linspace(0, 1, 200)
        start, bend, end = (rng.uniform(0.15, 0.85, size=2) * (height, width) for _ in range(3))
        points = ((1 - t) ** 2)[:, None] * start + (2 * t * (1 - t))[:, None] * bend + (t ** 2)[:, None] * end
        radius = max(1.0, rng.uniform(0.008, 0.02) * min(height, width))
        for y, x in points[::4]:
            mask |= (yy - y) ** 2 + (xx - x) ** 2 <= radius ** 2
    value = rng.uniform(0, 40, size=3) if rng.random() < 0.7 else rng.uniform(200, 255, size=3)
    out = image.copy()
    out[mask] = 0.2 * out[mask] + 0.8 * value
    return out, mask


def _stain(image: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """An irregular blob of a random colour, translucent."""
    height, width = image.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx = rng.uniform(0.25, 0.75) * height, rng.uniform(0.25, 0.75) * width
    angle = np.arctan2(yy - cy, xx - cx)
    wobble = 1 + sum(rng.uniform(-0.2, 0.2) * np.cos(k * angle + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5))
    radius = rng.uniform(0.07, 0.15) * min(height, width) * wobble
    mask = np.hypot(yy - cy, xx - cx) <= radius
    out = image.copy()
    alpha = rng.uniform(0.5, 0.85)
    out[mask] = (1 - alpha) * out[mask] + alpha * rng.uniform(0, 255, size=3)
    return out, mask


def _perlin(image: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """Blotches where smooth (Perlin) noise is high, filled with a shifted copy of the image (DRAEM)."""
    height, width = image.shape[:2]
    noise = perlin_noise(height, width, int(rng.choice([2, 4])), rng)
    mask = noise > np.quantile(noise, rng.uniform(0.88, 0.95))
    source = np.roll(image, (height // 3, width // 3), axis=(0, 1))[..., rng.permutation(3)]
    out = image.copy()
    out[mask] = 0.3 * out[mask] + 0.7 * source[mask]
    return out, mask


def perlin_noise(height: int, width: int, cells: int, rng) -> np.ndarray:
    """(height, width) gradient noise over a `cells` x `cells` lattice of random unit gradients."""
    angles = rng.uniform(0, 2 * np.pi, size=(cells + 1, cells + 1))
    gradients = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    ys, xs = np.linspace(0, cells, height, endpoint=False), np.linspace(0, cells, width, endpoint=False)
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    iy, ix = gy.astype(int), gx.astype(int)
    fy, fx = gy - iy, gx - ix

    def corner(dy, dx):
        g = gradients[iy + dy, ix + dx]
        return g[..., 0] * (fy - dy) + g[..., 1] * (fx - dx)

    fade_y, fade_x = (6 * f ** 5 - 15 * f ** 4 + 10 * f ** 3 for f in (fy, fx))
    top = corner(0, 0) * (1 - fade_x) + corner(0, 1) * fade_x
    bottom = corner(1, 0) * (1 - fade_x) + corner(1, 1) * fade_x
    return top * (1 - fade_y) + bottom * fade_y


def kinds_in_turn(count: int) -> list[str]:
    """The kinds of the first `count` anomalies `anomalies_of` makes (it takes them in turn)."""
    return [ANOMALY_KINDS[turn % len(ANOMALY_KINDS)] for turn in range(count)]


def anomalies_of(images, per_image: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(H, W, 3) uint8 images -> `per_image` (anomalous copy, mask) pairs each, the kinds taken in turn
    (`kinds_in_turn`)."""
    rng = np.random.default_rng(seed)
    kinds = iter(kinds_in_turn(len(images) * per_image))
    return [synthesize(image, next(kinds), rng) for image in images for _ in range(per_image)]
