"""Point-cloud files -> `Cloud`: PLY (ascii, binary little/big endian), PCD (ascii, binary), XYZ/CSV/TXT
(3+ numeric columns, optional header), NPY (N×3 or organised H×W×3) and organised-xyz TIFF (MVTec-3D-AD).

Every reader ends in `cloud_from`, the one place points are checked: non-finite points dropped (and, in an
organised grid, the all-zero points MVTec-3D-AD writes for "no measurement"), then an empty, NaN-only, too
small or too large cloud is a `BadInput` saying what to do. Only x, y, z are read; other properties are
ignored. Pure numpy apart from `tifffile` for TIFF (imported where a TIFF is read).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.errors import BadInput

MIN_POINTS = 16
MAX_POINTS = 20_000_000


@dataclass(frozen=True)
class Cloud:
    """points (N, 3) float64, finite only; for an organised file also its grid (H, W) and the (H, W) bool
    mask of the grid cells that hold a point (points are those cells in row-major order)."""
    points: np.ndarray
    grid: tuple[int, int] | None = None
    valid: np.ndarray | None = None


def check_cap(count: int, name: str) -> None:
    """A cloud over `MAX_POINTS` is refused before it is read, with how to make it smaller."""
    if count > MAX_POINTS:
        raise BadInput(f"{name}: {count:,} points, over the cap of {MAX_POINTS:,}; downsample it first "
                       f"(e.g. a voxel grid: Open3D voxel_down_sample, CloudCompare Subsample)")


def cloud_from(xyz: np.ndarray, name: str) -> Cloud:
    """(N, 3) or organised (H, W, 3) coordinates -> a checked `Cloud`."""
    xyz = np.asarray(xyz, dtype=np.float64)
    count = xyz.shape[0] * (xyz.shape[1] if xyz.ndim == 3 else 1)
    if count == 0:
        raise BadInput(f"{name}: the point cloud is empty; export the scan with its points")
    check_cap(count, name)
    if xyz.ndim == 3:
        valid = np.isfinite(xyz).all(axis=2) & (xyz != 0).any(axis=2)
        points, grid = xyz[valid], xyz.shape[:2]
    else:
        valid, grid = None, None
        points = xyz[np.isfinite(xyz).all(axis=1)]
    if len(points) == 0:
        raise BadInput(f"{name}: no finite point (all {count:,} are NaN, inf or missing); check the export")
    if len(points) < MIN_POINTS:
        raise BadInput(f"{name}: only {len(points)} finite points, fewer than {MIN_POINTS}; "
                       f"give a scan of the whole part")
    if np.ptp(points, axis=0).max() == 0:
        raise BadInput(f"{name}: all {len(points):,} points coincide; give a scan of the part's surface")
    return Cloud(np.ascontiguousarray(points), grid, valid)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def read_table(path: Path) -> Cloud:
    """XYZ / CSV / TXT: one point a line, 3+ numeric columns split by commas, semicolons, tabs or spaces;
    an optional header line (its x, y, z columns are used when it names them, else the first three)."""
    lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise BadInput(f"{path.name}: the point cloud is empty; export the scan with its points")
    delimiter = next((d for d in (";", "\t", ",") if d in lines[0]), None)
    first = [w.strip().strip("\"'").lower() for w in lines[0].split(delimiter)]
    columns = [0, 1, 2]
    if not all(_is_number(w) for w in first[:3]):
        if {"x", "y", "z"} <= set(first):
            columns = [first.index(c) for c in "xyz"]
        lines = lines[1:]
    check_cap(len(lines), path.name)
    width = max(columns) + 1
    rows = [line.split(delimiter) for line in lines]
    short = next((k for k, row in enumerate(rows) if len(row) < width), None)
    if short is not None:
        raise BadInput(f"{path.name}: point line {short + 1} has fewer than {width} columns; "
                       f"give x y z on every line")
    try:
        xyz = np.array([[row[c] for c in columns] for row in rows], dtype=np.float64).reshape(-1, 3)
    except ValueError as error:
        raise BadInput(f"{path.name}: a point column is not a number ({error}); give numeric x y z") from None
    return cloud_from(xyz, path.name)


def read_npy(path: Path) -> Cloud:
    """NPY: an (N, 3) array of points or an organised (H, W, 3) grid."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise BadInput(f"{path.name}: not a readable .npy array ({error}); save it with numpy.save") from None
    if array.ndim not in (2, 3) or array.shape[-1] != 3 or array.dtype.kind not in "fiu":
        raise BadInput(f"{path.name}: a {array.dtype} array of shape {array.shape}; a point cloud .npy is "
                       f"numeric (N, 3) or organised (H, W, 3)")
    check_cap(int(np.prod(array.shape[:-1])), path.name)
    return cloud_from(np.array(array), path.name)


def is_organised_xyz_tiff(path) -> bool:
    """Whether `path` is a 3-channel float TIFF (an organised xyz grid, as MVTec-3D-AD ships), not an image."""
    try:
        import tifffile
    except ImportError:
        return False
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            return len(series.shape) == 3 and series.shape[-1] == 3 and np.dtype(series.dtype).kind == "f"
    except (tifffile.TiffFileError, OSError, IndexError, ValueError):
        return False


def read_tiff(path: Path) -> Cloud:
    """An organised-xyz TIFF (H, W, 3) float; zeros or NaN are missing points."""
    try:
        import tifffile
    except ImportError:
        raise BadInput("reading an xyz TIFF needs tifffile; pip install tifffile -c constraints.txt") from None
    if not is_organised_xyz_tiff(path):
        raise BadInput(f"{path.name}: not an organised-xyz TIFF (H×W×3 float); a picture TIFF is a still "
                       f"image, inspect it without --modality point_cloud")
    return cloud_from(tifffile.imread(path), path.name)
