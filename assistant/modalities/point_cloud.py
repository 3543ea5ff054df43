"""The point-cloud modality: a scan becomes a shaded depth render in its class's canonical view, and a box
on that render maps back to a 3D box in the file's own coordinates; its `views` draw the multi-view sheet
(`point_cloud_views`) with that box's points outlined.

Registered as "point_cloud" on import, by the unambiguous extensions .ply, .pcd, .xyz. A .csv, .txt or
.npy cloud is read when asked for by name (`--modality point_cloud`): those extensions also hold time
series. So does an organised-xyz .tif/.tiff (MVTec-3D-AD), which shares its extension with still images;
`is_organised_xyz_tiff` tells the two apart for whoever routes inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from assistant.modalities import rendering
from assistant.modalities.ply_pcd import read_pcd, read_ply
from assistant.modalities.point_cloud_files import Cloud, is_organised_xyz_tiff, read_npy, read_table, read_tiff
from assistant.modalities.point_cloud_render import (colourise, depth_normals, drop_occluded, fill_holes,
                                                      grid_normals, zbuffer)
from assistant.modalities.point_cloud_view import class_profile, height_range, project
from retrieval.errors import BadInput

__all__ = ["Cloud", "PointCloud", "is_organised_xyz_tiff", "read_cloud"]

READERS = {".ply": read_ply, ".pcd": read_pcd, ".xyz": read_table, ".csv": read_table, ".txt": read_table,
           ".npy": read_npy, ".tif": read_tiff, ".tiff": read_tiff}
OCCLUSION = 3.0                # a pixel this many pixel sizes behind its neighbours is a back-side point
OUTSIDE_NOTE = 0.5             # more than this fraction of the points outside the view: say so


def read_cloud(path: str | Path) -> Cloud:
    """The cloud in `path`, read by its extension."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise BadInput(f"{path.name}: not a point-cloud file; use one of {', '.join(READERS)}")
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    return reader(path)


def _depth(cloud: Cloud, profile: dict, u, v, height) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) filled height image and (H, W, 3) view-frame normals."""
    size = tuple(profile["size"])
    if profile["view"] == "organised":
        xyz = np.full((size[1], size[0], 3), np.nan)
        xyz[cloud.valid] = cloud.points
        xyz = fill_holes(xyz[..., [2, 0, 1]])[..., [1, 2, 0]]       # z first: it decides validity
        return -xyz[..., 2], grid_normals(xyz)
    image = drop_occluded(zbuffer(u, v, height, size), OCCLUSION * profile["pixel"])
    image = fill_holes(image[..., None])[..., 0]
    return image, depth_normals(image, profile["pixel"])


def _splat(rgb: np.ndarray, scale: int) -> Image.Image:
    """(H, W, 3) view cells (each its nearest point, shaded, holes filled) -> the RGB render, scale × larger:
    each cell spread over the scale × scale pixels it covers, blended bilinearly with its neighbours (hard
    blocks scored normal plates worse in bench/modalities.py: one of 8 failed; blended, none did)."""
    image = Image.fromarray(rgb, "RGB")
    return image if scale == 1 else image.resize((scale * rgb.shape[1], scale * rgb.shape[0]), Image.BILINEAR)


def _in_box(u: np.ndarray, v: np.ndarray, scale: int):
    """box [x0, y0, x1, y1] on the render (x1, y1 exclusive) -> (N,) bool mask of the points that fell there
    (a point belongs to the box when the centre of its scale × scale block does); None for no box, an empty
    one, or one no point fell in."""
    u, v = u * scale + scale // 2, v * scale + scale // 2

    def inside(box):
        if box is None:
            return None
        x0, y0, x1, y1 = (int(b) for b in box)
        mask = (u >= x0) & (u < x1) & (v >= y0) & (v < y1)
        return None if x1 <= x0 or y1 <= y0 or not mask.any() else mask
    return inside


def _locator(cloud: Cloud, inside):
    """box on the render -> the 3D box of the points that fell there (`_in_box`), JSON-ready; None: none did."""
    def location(box):
        mask = inside(box)
        if mask is None:
            return None
        points = cloud.points[mask]
        return {"box_3d": {"min": points.min(axis=0).tolist(), "max": points.max(axis=0).tolist()},
                "points": int(mask.sum())}
    return location


def _viewer(cloud: Cloud, profile: dict, picture: Image.Image, inside):
    """box on the render -> the cloud's multi-view sheet with the points in that box outlined (`point_cloud_views`)."""
    def views(box):
        from assistant.modalities.point_cloud_views import views_sheet

        return views_sheet(cloud, profile, picture, box, inside(box))
    return views


def _notes(cloud: Cloud, outside: float) -> list[str]:
    count = f"{len(cloud.points):,} points"
    if cloud.grid is not None:
        missing = 100 * (1 - cloud.valid.mean())
        count += f", {missing:.0f} % of the {cloud.grid[1]}×{cloud.grid[0]} grid missing"
    notes = [count]
    if outside > OUTSIDE_NOTE:
        notes.append(f"{100 * outside:.0f} % of the points lie outside the class's view: is the part posed "
                     f"and scanned like its references?")
    return notes


class PointCloud:
    """The point-cloud `Modality` (see `rendering`): raw data is a `Cloud`."""

    name = "point_cloud"
    suffixes = (".ply", ".pcd", ".xyz")

    def read(self, path: Path) -> Cloud:
        return read_cloud(path)

    def profile(self, raws: list[Cloud]) -> dict:
        return class_profile(list(raws))

    def render(self, raw: Cloud, profile: dict) -> rendering.Rendered:
        """The cloud as an RGB depth render in the class's view, its 3D locator, scores, notes and views
        (drawn only when asked for: the sheet needs the map's box)."""
        u, v, height = project(raw, profile)
        width, rows = profile["size"]
        outside = float(np.mean((u < 0) | (u >= width) | (v < 0) | (v >= rows)))
        image, normals = _depth(raw, profile, u, v, height)
        scale = int(profile.get("scale", 1))                         # profiles from before the key: 1
        picture = _splat(colourise(image, normals, height_range(profile)), scale)
        inside = _in_box(u, v, scale)
        return rendering.Rendered(image=picture, modality=self.name, location=_locator(raw, inside),
                                  scores={"outside_fraction": outside}, notes=_notes(raw, outside),
                                  views=_viewer(raw, profile, picture, inside))


MODALITY = rendering.register(PointCloud())
