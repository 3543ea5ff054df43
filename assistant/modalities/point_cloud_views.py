"""A point cloud's multi-view sheet (issue 15): the cloud in its class's canonical frame from four sides,
shown beside the one render that is inspected.

Four tiles, 2 × 2 (`contact_sheet`): top — the canonical render itself, the image inspected; front (the
x–z plane, seen from −y); side (y–z, seen from +x); oblique (from the front right, above). The view frame is
the class's (`point_cloud_view`): x right and y up on the top render, z the height toward its viewer. The
other three are orthographic z-buffers on a grid of about the tile's pixels, each point splatted over its
spacing (`_nearest`), holes closed, coloured by height on the render's ramp and shaded by its light
(`point_cloud_render`). Framing is the class's extent (an organised scan's own x-y extent: its grid is the
class's) and height range, widened to the cloud's own heights, so references and queries are framed alike.
A flat part's relief vanishes edge-on: when the class's height range is under `FLAT` of
its extent, height is stretched (at most `MAX_STRETCH` times) in those three views, and their captions
say so ("height x4").
The region the anomaly map flags (`region`: the points the verdict's 3D box is taken from) is outlined in
red in every tile: on the top render as the map's box, in the others as the edges of the box that holds
those points in the view frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from assistant.modalities.contact_sheet import RED, Tile, contact_sheet, picture_side
from assistant.modalities.point_cloud_files import Cloud
from assistant.modalities.point_cloud_render import colourise, depth_normals, fill_holes
from assistant.modalities.point_cloud_view import DENSITY, height_range, point_spacing

CELL = 256                    # tile side, px
FLAT = 0.25                   # height range under this fraction of the extent: stretched ...
MAX_STRETCH = 4.0             # ... by at most this
VIEW_POINTS = 60_000          # points z-buffered per view (an even stride through larger clouds): ~ a tile's pixels
MARGIN = 0.1                  # of the height range, framed above and below it
MAX_SPLAT = 6                 # cells a point covers along each side, at most
OBLIQUE = (math.radians(35), math.radians(30))   # azimuth from the front toward +x, elevation
LINE = 2                      # px, the red box's lines


@dataclass(frozen=True)
class ViewFrame:
    points: np.ndarray        # (N, 3) the cloud in the class's view frame: x right, y up (top render), z height
    low: np.ndarray           # (3,) the framed extent's corner ...
    high: np.ndarray          # (3,) ... and its opposite
    pixel: float              # the class's view cell (pads the region's box)
    spacing: float            # the cloud's median nearest-neighbour distance
    stretch: float            # height is drawn this many times taller in the front, side and oblique views


def view_frame(cloud: Cloud, profile: dict) -> ViewFrame:
    """The cloud and its framing in the class's view frame (organised: camera x, −y, −z)."""
    low_z, high_z = height_range(profile)
    if profile["view"] == "organised":
        points = cloud.points * np.array([1.0, -1.0, -1.0])
        (x0, y0), (x1, y1) = np.percentile(points[:, :2], [0.5, 99.5], axis=0)
        pixel = max((x1 - x0) / profile["size"][0], (y1 - y0) / profile["size"][1])
    else:
        points = (cloud.points - np.asarray(profile["mean"])) @ np.asarray(profile["axes"]).T
        pixel = profile["pixel"]
        x0, y1 = profile["origin"]
        x1, y0 = x0 + pixel * profile["size"][0], y1 - pixel * profile["size"][1]
    extent = max(x1 - x0, y1 - y0, 1e-12)
    relief = max(high_z - low_z, 1e-12)
    stretch = 1.0 if relief >= FLAT * extent else round(min(MAX_STRETCH, FLAT * extent / relief), 1)
    z = points[:, 2][(points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)]
    if len(z):               # the cloud's own heights, a stray at most one extent beyond the class's
        low_z, high_z = min(low_z, max(z.min(), low_z - extent)), max(high_z, min(z.max(), high_z + extent))
    pad = MARGIN * (high_z - low_z)
    return ViewFrame(points, np.array([x0, y0, low_z - pad]), np.array([x1, y1, high_z + pad]), float(pixel),
                     point_spacing(cloud), stretch)


def _axes(view: str) -> np.ndarray:
    """(3, 3) rows: the screen's right, its up and the direction toward the viewer, in the view frame."""
    if view == "front":
        return np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])
    if view == "side":
        return np.array([[0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 0]])
    azimuth, elevation = OBLIQUE
    toward = np.array([math.sin(azimuth) * math.cos(elevation), -math.cos(azimuth) * math.cos(elevation),
                       math.sin(elevation)])
    right = np.cross([0.0, 0.0, 1.0], toward)
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(toward, right), toward])


def _corners(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """(8, 3) corners of the box low..high; corner k has bit j set when it takes high along axis j."""
    return np.array([[(high if k >> j & 1 else low)[j] for j in range(3)] for k in range(8)])


EDGES = [(a, a | 1 << j) for a in range(8) for j in range(3) if not a >> j & 1]    # the box's 12 edges


@dataclass(frozen=True)
class _Screen:
    """A view's grid: screen coordinates (right, up) -> grid cell and tile pixel."""
    axes: np.ndarray
    origin: np.ndarray        # (right, up) of the grid's top-left corner
    cell: float
    shape: tuple[int, int]    # (rows, cols)
    size: tuple[int, int]     # (width, height) of the tile's picture

    def project(self, points: np.ndarray) -> np.ndarray:
        return points @ self.axes.T

    def to_pixels(self, screen: np.ndarray) -> np.ndarray:
        """(N, 3) screen coordinates -> (N, 2) tile picture pixels (x right, y down), kept on the picture."""
        x = (screen[:, 0] - self.origin[0]) / (self.shape[1] * self.cell) * self.size[0]
        y = (self.origin[1] - screen[:, 1]) / (self.shape[0] * self.cell) * self.size[1]
        return np.stack([np.clip(x, 0, self.size[0] - 1), np.clip(y, 0, self.size[1] - 1)], axis=1)


def _screen(frame: ViewFrame, view: str, stretched: np.ndarray, side: int) -> _Screen:
    """The grid that frames the (stretched) extent in `view` with about `side` cells on its longer side."""
    axes = _axes(view)
    screen = _corners(frame.low * stretched, frame.high * stretched) @ axes.T
    low, high = screen.min(axis=0), screen.max(axis=0)
    width, height = high[0] - low[0], high[1] - low[1]
    cell = max(width, height, 1e-12) / side
    cols, rows = max(1, math.ceil(width / cell - 1e-9)), max(1, math.ceil(height / cell - 1e-9))
    scale = side / max(cols, rows)
    size = (max(1, round(cols * scale)), max(1, round(rows * scale)))
    return _Screen(axes, np.array([low[0], high[1]]), cell, (rows, cols), size)


def _nearest(cols: np.ndarray, rows: np.ndarray, depth: np.ndarray, shape: tuple[int, int],
             splat: tuple[int, int]) -> np.ndarray:
    """(rows, cols) index of the point nearest the viewer (largest `depth`) among those whose splat covers
    each cell; -1 where none does. A splat = (wide, tall) is a block of cells around the point's own, wide
    centred, tall reaching down from it (a stretched surface is steeper: its points lie farther apart
    down the screen, never above where they are)."""
    wide, tall = splat
    nearest_first = np.argsort(-depth, kind="stable")
    across, down = np.meshgrid(np.arange(wide) - wide // 2, np.arange(tall) - wide // 2)
    cols = (cols[nearest_first, None] + across.ravel()).ravel()
    rows = (rows[nearest_first, None] + down.ravel()).ravel()
    owner = np.repeat(nearest_first, wide * tall)
    inside = (cols >= 0) & (cols < shape[1]) & (rows >= 0) & (rows < shape[0])
    cells, first = np.unique(rows[inside] * shape[1] + cols[inside], return_index=True)   # first: the nearest
    index = np.full(shape[0] * shape[1], -1)
    index[cells] = owner[inside][first]
    return index.reshape(shape)


def _view_picture(frame: ViewFrame, view: str, span: tuple[float, float], side: int):
    """(PIL RGB picture of the cloud in `view`, its `_Screen`): each point splatted over the cells of one
    view cell of the class (its spacing, thinned by the stride), the nearest kept, holes closed, shaded."""
    from PIL import Image

    stride = max(1, math.ceil(len(frame.points) / VIEW_POINTS))
    stretched = np.array([1.0, 1.0, frame.stretch])
    points = frame.points[::stride]
    grid = _screen(frame, view, stretched, side)
    wide = int(np.clip(math.ceil(DENSITY * frame.spacing * math.sqrt(stride) / grid.cell), 1, MAX_SPLAT))
    tall = int(np.clip(round(wide * (1 + (frame.stretch - 1) * abs(grid.axes[1, 2]))), 1, MAX_SPLAT * MAX_STRETCH))
    screen = grid.project(points * stretched)
    cols = np.floor((screen[:, 0] - grid.origin[0]) / grid.cell).astype(np.int64)
    rows = np.floor((grid.origin[1] - screen[:, 1]) / grid.cell).astype(np.int64)
    index = _nearest(cols, rows, screen[:, 2], grid.shape, (wide, tall))
    seen = index >= 0
    filled = fill_holes(np.stack([np.where(seen, screen[index, 2], np.nan),
                                  np.where(seen, points[index, 2], np.nan)], axis=2))
    normals = depth_normals(_smoothed(filled[..., 0], wide), grid.cell)
    rgb = colourise(filled[..., 1], normals, span)
    return Image.fromarray(rgb, "RGB").resize(grid.size, Image.BILINEAR), grid


def _smoothed(depth: np.ndarray, width: int) -> np.ndarray:
    """(H, W) depth box-filtered over width x width cells (NaN ignored; NaN stays NaN): splats are flat
    blocks, whose steps would shade as edges."""
    if width <= 1:
        return depth
    valid = np.isfinite(depth)
    values = np.where(valid, depth, 0.0)
    pad = (width // 2, width - 1 - width // 2)
    total = np.pad(values, pad).cumsum(0).cumsum(1)
    count = np.pad(valid.astype(float), pad).cumsum(0).cumsum(1)
    sums = [_box_sum(a, width, depth.shape) for a in (total, count)]
    return np.where(valid, sums[0] / np.maximum(sums[1], 1), np.nan)


def _box_sum(integral: np.ndarray, width: int, shape: tuple[int, int]) -> np.ndarray:
    padded = np.pad(integral, ((1, 0), (1, 0)))
    rows, cols = shape
    return (padded[width:width + rows, width:width + cols] - padded[:rows, width:width + cols]
            - padded[width:width + rows, :cols] + padded[:rows, :cols])


def _outline(picture, grid: _Screen, frame: ViewFrame, region: np.ndarray | None):
    """The picture with the box of the region's points (in the view frame) drawn in red."""
    from PIL import ImageDraw

    if region is None or not region.any():
        return picture
    chosen = frame.points[region]
    pad = np.array([frame.pixel, frame.pixel, frame.pixel / frame.stretch]) / 2
    corners = _corners(chosen.min(axis=0) - pad, chosen.max(axis=0) + pad) * np.array([1.0, 1.0, frame.stretch])
    pixels = grid.to_pixels(grid.project(corners))
    draw = ImageDraw.Draw(picture)
    for a, b in EDGES:
        draw.line([tuple(pixels[a]), tuple(pixels[b])], fill=RED, width=LINE)
    return picture


def _top(render, box: list[int] | None, side: int):
    """The render inspected, scaled to `side`, with the map's box drawn in red."""
    from PIL import Image, ImageDraw

    scale = side / max(render.size)
    picture = render.convert("RGB").resize((max(1, round(render.width * scale)),
                                            max(1, round(render.height * scale))), Image.BICUBIC)
    if box is not None:
        x0, y0, x1, y1 = (b * scale for b in box)
        ImageDraw.Draw(picture).rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), outline=RED, width=LINE)
    return picture


CAPTIONS = {"front": "front (x-z)", "side": "side (y-z)", "oblique": "oblique"}


def view_tiles(cloud: Cloud, profile: dict, render, box: list[int] | None = None,
               region: np.ndarray | None = None, cell: int = CELL) -> list[Tile]:
    """The four captioned tiles of `cloud` in its class's frame: `render` (the image inspected) with `box`
    (the map's, on it) as the top view, then front, side and oblique; `region`: (N,) bool, the cloud's points
    in `box` (the verdict's 3D box is theirs), outlined in each of those three."""
    frame, side, span = view_frame(cloud, profile), picture_side(cell), height_range(profile)
    stretched = f" · height x{frame.stretch:g}" if frame.stretch > 1 else ""
    tiles = [Tile(_top(render, box, side), "top: the image inspected")]
    for view in ("front", "side", "oblique"):
        picture, grid = _view_picture(frame, view, span, side)
        tiles.append(Tile(_outline(picture, grid, frame, region), CAPTIONS[view] + stretched))
    return tiles


def views_sheet(cloud: Cloud, profile: dict, render, box: list[int] | None = None,
                region: np.ndarray | None = None, cell: int = CELL):
    """The 2 × 2 sheet of `view_tiles` (PIL RGB, 2 * cell wide)."""
    return contact_sheet(view_tiles(cloud, profile, render, box, region, cell), columns=2, cell=cell)
