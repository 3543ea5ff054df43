"""Generated point clouds with known defects, and writers for every format the point-cloud modality reads
(a test tool: the files are written here the way the formats' specs say, then read by the product code)."""

from __future__ import annotations

import numpy as np

BUMP_CENTRE = (0.7, 0.3)
BUMP_RADIUS = 0.04


def plate(n: int = 90, bump: float = 0.0, centre=BUMP_CENTRE, seed: int = 0, wave: float = 0.004):
    """(N, 3) an unorganised 1.0 × 0.6 plate with a little random waviness and jitter, and a Gaussian bump
    of height `bump` at `centre`; returns (points, bool mask of the points the bump lifts noticeably)."""
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 0.6, int(n * 0.6)))
    x = x.ravel() + rng.normal(0, 0.1 / n, x.size)
    y = y.ravel() + rng.normal(0, 0.1 / n, y.size)
    phase = rng.uniform(0, 2 * np.pi, 2)
    z = wave * (np.sin(4 * x + phase[0]) + np.cos(5 * y + phase[1])) + rng.normal(0, 0.0005, x.size)
    lift = bump * np.exp(-((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / (2 * (BUMP_RADIUS / 2) ** 2))
    points = np.stack([x, y, z + lift], axis=1)
    order = rng.permutation(len(points))
    return points[order], (lift > 0.1 * bump)[order] if bump else np.zeros(len(points), bool)


def write_plates(folder, count: int = 12):
    """`count` normal plates (seeds 0..count-1) as binary PLY files in `folder` (created): a class to ingest."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(count):
        write_ply(folder / f"plate_{k:02d}.ply", plate(seed=k)[0], fmt="binary_little_endian")
    return folder


def sphere(n: int = 4000, radius: float = 1.0) -> np.ndarray:
    """(N, 3) a Fibonacci sphere."""
    k = np.arange(n) + 0.5
    polar, azimuth = np.arccos(1 - 2 * k / n), np.pi * (1 + 5 ** 0.5) * k
    return radius * np.stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar),
                              np.cos(polar)], axis=1)


def surface(rows: int = 60, cols: int = 80, defect: str | None = None, seed: int = 0):
    """(H, W, 3) an organised scan of a gently curved surface 0.5 from the camera (MVTec-3D-AD style: zeros
    are missing, a one-cell border of them); `defect` "bump" (nearer), "dent" (farther) or "hole"
    (missing) at row 20, column 50; returns (grid, (H, W) mask of the defect)."""
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:rows, 0:cols].astype(np.float64)
    x, y = (u - cols / 2) * 0.001, (v - rows / 2) * 0.001
    z = 0.5 + 0.5 * (x ** 2 + y ** 2) + rng.normal(0, 2e-6, x.shape)
    near = (u - 50) ** 2 + (v - 20) ** 2 <= 5 ** 2
    if defect in ("bump", "dent"):
        z = z + (-1 if defect == "bump" else 1) * 0.004 * np.exp(-((u - 50) ** 2 + (v - 20) ** 2) / 8.0)
    grid = np.stack([x, y, z], axis=2)
    if defect == "hole":
        grid[near] = 0.0
    grid[[0, -1]] = 0.0
    grid[:, [0, -1]] = 0.0
    return grid, near


def write_ply(path, xyz: np.ndarray, fmt: str = "ascii", kind: str = "double", faces: bool = True) -> None:
    """A PLY with vertex x y z of `kind` plus normals and a colour, then (optionally) a face element."""
    n = len(xyz)
    head = ["ply", f"format {fmt} 1.0", "comment generated", f"element vertex {n}",
            *(f"property {kind} {c}" for c in "xyz"), "property float nx", "property uchar red"]
    if faces:
        head += ["element face 1", "property list uchar int vertex_indices"]
    head.append("end_header")
    if fmt == "ascii":
        body = b"".join(f"{float(a)!r} {float(b)!r} {float(c)!r} 0.5 7\n".encode() for a, b, c in xyz)
        body += b"3 0 1 2\n" if faces else b""
    else:
        body = _ply_binary(xyz, fmt, kind, faces)
    path.write_bytes(("\n".join(head) + "\n").encode() + body)


def _ply_binary(xyz, fmt, kind, faces) -> bytes:
    end = "<" if fmt == "binary_little_endian" else ">"
    code = {"double": "f8", "float": "f4"}[kind]
    rows = np.zeros(len(xyz), dtype=[("x", end + code), ("y", end + code), ("z", end + code),
                                     ("nx", end + "f4"), ("red", "u1")])
    for k, c in enumerate("xyz"):
        rows[c] = xyz[:, k]
    face = np.array([3], "u1").tobytes() + np.array([0, 1, 2], end + "i4").tobytes()
    return rows.tobytes() + (face if faces else b"")


def write_pcd(path, xyz: np.ndarray, mode: str = "ascii", shape=None) -> None:
    """A PCD with fields x y z rgb (float32); organised when `shape` (H, W) is given."""
    height, width = shape if shape else (1, len(xyz))
    head = ["# .PCD v0.7", "VERSION 0.7", "FIELDS x y z rgb", "SIZE 4 4 4 4", "TYPE F F F U", "COUNT 1 1 1 1",
            f"WIDTH {width}", f"HEIGHT {height}", "VIEWPOINT 0 0 0 1 0 0 0", f"POINTS {len(xyz)}", f"DATA {mode}"]
    rows = np.zeros(len(xyz), dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<u4")])
    for k, c in enumerate("xyz"):
        rows[c] = xyz[:, k]
    rows["rgb"] = 0x00FF8800
    body = (b"".join(f"{float(a)!r} {float(b)!r} {float(c)!r} {rgb}\n".encode() for a, b, c, rgb in rows.tolist())
            if mode == "ascii" else rows.tobytes())
    path.write_bytes(("\n".join(head) + "\n").encode() + body)


def write_table(path, xyz: np.ndarray, delimiter: str = " ", header: str | None = None) -> None:
    """One point a line, a fourth column (intensity), an optional header line."""
    lines = [header] if header else []
    lines += [delimiter.join([repr(float(v)) for v in point] + ["1.0"]) for point in xyz]
    path.write_text("\n".join(lines) + "\n")
