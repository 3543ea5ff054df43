"""Depth images of projected points, shaded and coloured into the RGB render the image pipeline sees.

Pure numpy on arrays: `zbuffer` keeps the nearest point per pixel, `drop_occluded` clears back-side
points seen through gaps, `fill_holes` closes small gaps with the median of their neighbours (never
growing the silhouette into the background), `grid_normals` and `depth_normals` give unit normals in the
view frame (x right, y up, z toward the viewer), and `colourise` maps height through a fixed colour ramp
times Lambert shading under a fixed light. Empty pixels are black.
"""

from __future__ import annotations

import numpy as np

LIGHT = np.array([-0.5, 0.5, 1.0]) / np.linalg.norm([-0.5, 0.5, 1.0])   # from the upper left, toward the part
RAMP = np.array([[0.10, 0.10, 0.45], [0.10, 0.55, 0.65], [0.55, 0.80, 0.35], [0.98, 0.90, 0.30]])
AMBIENT = 0.25
FILL_PASSES = 2
FILL_NEIGHBOURS = 5            # of 8 neighbours holding depth: fills a hole or a crack, not a straight edge


def zbuffer(u: np.ndarray, v: np.ndarray, height: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) image of the largest height per pixel (the point nearest the viewer); NaN where none fell."""
    width, rows = size
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < rows)
    index, h = v[inside] * width + u[inside], height[inside]
    order = np.lexsort((-h, index))
    index, h = index[order], h[order]
    first = np.ones(len(index), bool)
    first[1:] = index[1:] != index[:-1]
    image = np.full(width * rows, np.nan)
    image[index[first]] = h[first]
    return image.reshape(rows, width)


def _neighbours(image: np.ndarray) -> np.ndarray:
    """(H, W, 8) the 8 neighbours of each pixel (NaN beyond the border)."""
    padded = np.pad(image, 1, constant_values=np.nan)
    rows, cols = image.shape
    return np.stack([padded[1 + dy:1 + dy + rows, 1 + dx:1 + dx + cols]
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx], axis=2)


def _neighbour_median(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) -> (H, W) lower median of each pixel's valid 8 neighbours (NaN if none), (H, W) their count."""
    near = np.sort(_neighbours(image), axis=2)                      # NaN sort last
    count = np.isfinite(near).sum(axis=2)
    median = np.take_along_axis(near, np.maximum(count - 1, 0)[..., None] // 2, axis=2)[..., 0]
    return median, count


def drop_occluded(image: np.ndarray, tolerance: float) -> np.ndarray:
    """Pixels far behind their neighbours' surface (a back-side point seen through a gap in the front
    one) become holes, so `fill_holes` closes the gap with the front surface."""
    median, count = _neighbour_median(image)
    behind = (count >= FILL_NEIGHBOURS) & (image < median - tolerance)
    return np.where(behind, np.nan, image)


def fill_holes(channels: np.ndarray, passes: int = FILL_PASSES) -> np.ndarray:
    """(H, W, C) with NaN holes -> the same with each small hole set to its valid neighbours' (lower)
    median, channel by channel, where enough neighbours are valid (channel 0 decides validity) — an
    interior gap or a crack, never a pixel along the silhouette's edge."""
    out = channels.astype(np.float64).copy()
    for _ in range(passes):
        count = _neighbour_median(out[..., 0])[1]
        hole = ~np.isfinite(out[..., 0]) & (count >= FILL_NEIGHBOURS)
        if not hole.any():
            break
        for c in range(out.shape[2]):
            out[..., c] = np.where(hole, _neighbour_median(out[..., c])[0], out[..., c])
    return out


def _unit(vectors: np.ndarray) -> np.ndarray:
    length = np.linalg.norm(vectors, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return vectors / length


def grid_normals(xyz: np.ndarray) -> np.ndarray:
    """(H, W, 3) organised camera coordinates (x right, y down, z away) -> (H, W, 3) unit normals in the
    view frame, by finite differences along the grid, turned toward the camera."""
    d_row = np.gradient(xyz, axis=0)
    d_col = np.gradient(xyz, axis=1)
    normals = _unit(np.cross(d_col, d_row))
    normals = np.where(normals[..., 2:3] > 0, -normals, normals)    # facing the camera: z < 0
    return normals * np.array([1.0, -1.0, -1.0])


def depth_normals(height: np.ndarray, pixel: float) -> np.ndarray:
    """(H, W) height image (view units) -> (H, W, 3) unit normals in the view frame from its gradients."""
    d_row, d_col = np.gradient(height, pixel)
    return _unit(np.stack([-d_col, d_row, np.ones_like(height)], axis=2))   # rows run down: y = -row


def colourise(height: np.ndarray, normals: np.ndarray, span: tuple[float, float]) -> np.ndarray:
    """(H, W) height, (H, W, 3) normals, (low, high) -> (H, W, 3) uint8: ramp(height) × shading."""
    low, high = span
    level = np.clip((height - low) / max(high - low, 1e-12), 0.0, 1.0)
    stops = np.linspace(0.0, 1.0, len(RAMP))
    colour = np.stack([np.interp(np.nan_to_num(level), stops, RAMP[:, c]) for c in range(3)], axis=2)
    lambert = np.clip(np.nan_to_num(normals @ LIGHT, nan=1.0), 0.0, 1.0)
    rgb = colour * (AMBIENT + (1.0 - AMBIENT) * lambert)[..., None]
    rgb[~np.isfinite(height)] = 0.0
    return np.round(rgb * 255).astype(np.uint8)
