"""The class's canonical view of its point clouds, fixed from the normal references, and the projection
of any cloud into it.

Organised references (all of one grid size) keep their grid as the view: pixel (u, v) is grid cell
(row v, column u), depth is z (the scanner's distance: nearer is smaller). Otherwise the view is a PCA
frame of the references' points: origin at their mean, x along the largest spread, depth along the
smallest; signs fixed by the third moment (the side the mass leans to) so the same shape in any pose gives
the same frame, then right-handed so a render is never mirrored. The frame is the class's, not each
file's: parts are expected in the references' pose (a fixture), and a query posed otherwise falls partly
outside the view, which its render's notes say. The extent and depth range are robust percentiles over
the references; the pixel size follows their point spacing (median nearest-neighbour distance), so a
render has few holes. That view is small (a 90×54 scan is 76×46 cells), so the profile also keeps a
`scale`: each view cell is spread over a scale × scale block of render pixels, chosen so the longer
side reaches the image encoder's input (`RENDER_MIN`) without passing `RENDER_MAX`. A profile written
before the key existed renders at scale 1, as it did, so an old home's references still match its queries.
"""

from __future__ import annotations

import math

import numpy as np

from assistant.modalities.point_cloud_files import Cloud
from retrieval.errors import BadInput

MAX_SIDE = 256                 # render pixels on the longest side
MIN_SIDE = 64
FRAME_SAMPLE = 200_000         # points per reference the frame is fitted on (an even stride through them)
DENSITY = 1.5                  # pixel = this many point spacings, so neighbouring points share or touch pixels
TRIM = 1.5                     # strays: farther from the mean than this × the 99th-percentile distance
MARGIN = 0.05                  # fraction of the extent added on each side
RENDER_MIN = 224               # render pixels on the longer side: the image encoder's input
RENDER_MAX = 512               # ... at most, unless one view cell is already more


def pca_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3) points -> (mean (3,), axes (3, 3) rows: largest spread first, smallest (depth) last), fitted
    without strays: points farther from the mean than `TRIM` × the 99th-percentile distance (a few
    stray points would otherwise swing the covariance)."""
    distance = np.linalg.norm(points - points.mean(axis=0), axis=1)
    points = points[distance <= TRIM * np.percentile(distance, 99)]
    mean = points.mean(axis=0)
    centred = points - mean
    _, vectors = np.linalg.eigh(centred.T @ centred / len(points))
    axes = vectors[:, ::-1].T.copy()
    projected = centred @ axes.T
    for k in (0, 2):
        if np.sum(projected[:, k] ** 3) < 0:
            axes[k] = -axes[k]
    axes[1] = np.cross(axes[2], axes[0])
    return mean, axes


def _sample(cloud: Cloud) -> np.ndarray:
    return cloud.points[::max(1, math.ceil(len(cloud.points) / FRAME_SAMPLE))]


def point_spacing(cloud: Cloud) -> float:
    """The cloud's median nearest-neighbour distance, measured on an even sample of up to 2,000 points
    (the frame's sample, its stride corrected for: surface density grows with the point count)."""
    from scipy.spatial import cKDTree

    stride = max(1, math.ceil(len(cloud.points) / FRAME_SAMPLE))
    points = cloud.points[::stride]
    distance, _ = cKDTree(points).query(points[::max(1, len(points) // 2000)], k=2)
    return float(np.median(distance[:, 1])) / math.sqrt(stride)


def _widened(low: float, high: float) -> list[float]:
    pad = MARGIN * max(high - low, 1e-9)
    return [float(low - pad), float(high + pad)]


def organised_profile(clouds: list[Cloud]) -> dict:
    """The grid as is, with the references' robust depth (z) range."""
    shapes = sorted({c.grid for c in clouds})
    if len(shapes) > 1:
        raise BadInput(f"the class's organised references have grids of different sizes {shapes}; "
                       f"give references from one scanner setting")
    height, width = shapes[0]
    z = np.concatenate([_sample(c)[:, 2] for c in clouds])
    return {"view": "organised", "size": [int(width), int(height)],
            "depth_range": _widened(*np.percentile(z, [1, 99]))}


def pca_profile(clouds: list[Cloud]) -> dict:
    """A PCA frame of the references' points, its x/y extent, depth range, pixel size and render size."""
    mean, axes = pca_frame(np.concatenate([_sample(c) for c in clouds]))
    projected = [(_sample(c) - mean) @ axes.T for c in clouds]
    every = np.concatenate(projected)
    x0, x1 = _widened(*np.percentile(every[:, 0], [0.5, 99.5]))
    y0, y1 = _widened(*np.percentile(every[:, 1], [0.5, 99.5]))
    spacing = float(np.median([point_spacing(c) for c in clouds]))
    longest = max(x1 - x0, y1 - y0)
    pixel = max(longest / MAX_SIDE, min(DENSITY * spacing, longest / MIN_SIDE))
    size = [max(1, math.ceil((x1 - x0) / pixel)), max(1, math.ceil((y1 - y0) / pixel))]
    return {"view": "pca", "mean": [float(v) for v in mean], "axes": axes.tolist(),
            "origin": [x0, y1], "pixel": float(pixel), "size": size,
            "depth_range": _widened(*np.percentile(every[:, 2], [1, 99]))}


def render_scale(size: list[int]) -> int:
    """Render pixels per view cell along each axis: the smallest whole number that brings the longer side
    to `RENDER_MIN`, lowered to keep it within `RENDER_MAX` (never below 1)."""
    longest = max(size)
    return max(1, min(math.ceil(RENDER_MIN / longest), RENDER_MAX // longest))


def class_profile(clouds: list[Cloud]) -> dict:
    """Organised view when every reference is a grid of one size, else the PCA view; with its render scale."""
    if not clouds:
        raise BadInput("no reference point clouds to fix the class's view from; add normal references")
    if all(c.grid is not None for c in clouds) and len({c.grid for c in clouds}) == 1:
        profile = organised_profile(clouds)
    else:
        profile = pca_profile(clouds)
    return {**profile, "scale": render_scale(profile["size"])}


def project(cloud: Cloud, profile: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: (u, v) pixel (int, may lie outside the render) and height (larger = nearer the viewer)."""
    if profile["view"] == "organised":
        width, height = profile["size"]
        if cloud.grid != (height, width):
            found = "unorganised" if cloud.grid is None else f"a {cloud.grid[1]}×{cloud.grid[0]} grid"
            raise BadInput(f"this cloud is {found}, the class's view is a {width}×{height} organised grid; "
                           f"give a scan from the references' scanner setting")
        rows, cols = np.nonzero(cloud.valid)
        return cols, rows, -cloud.points[:, 2]
    local = (cloud.points - np.asarray(profile["mean"])) @ np.asarray(profile["axes"]).T
    x0, y1 = profile["origin"]
    u = np.floor((local[:, 0] - x0) / profile["pixel"]).astype(np.int64)
    v = np.floor((y1 - local[:, 1]) / profile["pixel"]).astype(np.int64)
    return u, v, local[:, 2]


def height_range(profile: dict) -> tuple[float, float]:
    """The (low, high) height the colour map spans (organised: height is -z)."""
    low, high = profile["depth_range"]
    return (-high, -low) if profile["view"] == "organised" else (low, high)
