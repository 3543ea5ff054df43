"""Point-cloud files read back what was written, for every format; each bad file is one clear BadInput
(assistant.modalities.point_cloud_files, ply_pcd, point_cloud.read_cloud)."""

import numpy as np
import pytest
import tifffile
from PIL import Image
from point_cloud_writers import plate, sphere, surface, write_pcd, write_ply, write_table

from assistant.modalities import point_cloud_files, rendering
from assistant.modalities.point_cloud import is_organised_xyz_tiff, read_cloud
from retrieval.errors import BadInput

POINTS = plate(n=30)[0]
F32 = POINTS.astype(np.float32).astype(np.float64)


def _write(tmp_path, name, fmt):
    path = tmp_path / name
    {"ply-ascii": lambda: write_ply(path, POINTS),
     "ply-le": lambda: write_ply(path, POINTS, "binary_little_endian"),
     "ply-be": lambda: write_ply(path, POINTS, "binary_big_endian"),
     "ply-be-float": lambda: write_ply(path, POINTS, "binary_big_endian", kind="float"),
     "pcd-ascii": lambda: write_pcd(path, POINTS),
     "pcd-binary": lambda: write_pcd(path, POINTS, "binary"),
     "xyz": lambda: write_table(path, POINTS),
     "csv": lambda: write_table(path, POINTS[:, [2, 0, 1]], ",", header="z,x,y,intensity"),
     "txt": lambda: write_table(path, POINTS, "\t", header="# a scan"),
     "npy": lambda: np.save(path, POINTS)}[fmt]()
    return path


@pytest.mark.parametrize("name,fmt,expected", [
    ("a.ply", "ply-ascii", POINTS), ("a.ply", "ply-le", POINTS), ("a.ply", "ply-be", POINTS),
    ("a.ply", "ply-be-float", F32), ("a.pcd", "pcd-ascii", F32), ("a.pcd", "pcd-binary", F32),
    ("a.xyz", "xyz", POINTS), ("a.csv", "csv", POINTS), ("a.txt", "txt", POINTS), ("a.npy", "npy", POINTS)])
def test_each_unorganised_format_reads_back_what_was_written(tmp_path, name, fmt, expected):
    cloud = read_cloud(_write(tmp_path, name, fmt))
    np.testing.assert_array_equal(cloud.points, expected)
    assert cloud.grid is None and cloud.valid is None


def test_a_table_may_use_semicolons_and_spaces_around_its_numbers(tmp_path):
    lines = [" x ; y ; z "] + [f" {a!r} ; {b!r} ;{c!r} " for a, b, c in POINTS.tolist()]
    (tmp_path / "spaced.csv").write_text("\n".join(lines))
    np.testing.assert_array_equal(read_cloud(tmp_path / "spaced.csv").points, POINTS)


def _organised(tmp_path, how, grid):
    path = tmp_path / f"scan.{how}"
    if how == "npy":
        np.save(path, grid)
    elif how == "tiff":
        tifffile.imwrite(path, grid.astype(np.float32), photometric="rgb")
    else:
        write_pcd(path, grid.reshape(-1, 3), "binary", shape=grid.shape[:2])
    return path


@pytest.mark.parametrize("how", ["npy", "tiff", "pcd"])
def test_an_organised_grid_keeps_its_shape_and_its_missing_points(tmp_path, how):
    grid, hole = surface(defect="hole")
    grid[5, 7] = np.nan                                     # NaN is missing too, like the zeros
    cloud = read_cloud(_organised(tmp_path, how, grid.astype(np.float32)))
    expected_valid = ~hole
    expected_valid[[0, -1]] = expected_valid[:, [0, -1]] = False
    expected_valid[5, 7] = False
    assert cloud.grid == grid.shape[:2]
    np.testing.assert_array_equal(cloud.valid, expected_valid)
    np.testing.assert_array_equal(cloud.points, grid.astype(np.float32)[expected_valid].astype(np.float64))


def test_an_xyz_tiff_is_told_apart_from_a_picture_tiff(tmp_path):
    tifffile.imwrite(tmp_path / "xyz.tiff", surface()[0].astype(np.float32), photometric="rgb")
    Image.new("RGB", (8, 8), "red").save(tmp_path / "photo.tif")
    assert is_organised_xyz_tiff(tmp_path / "xyz.tiff")
    assert not is_organised_xyz_tiff(tmp_path / "photo.tif")
    assert not is_organised_xyz_tiff(tmp_path / "missing.tif")
    with pytest.raises(BadInput, match="not an organised-xyz TIFF"):
        read_cloud(tmp_path / "photo.tif")


def test_the_modality_claims_only_unambiguous_extensions():
    assert rendering.modality_for("scan.PLY").name == "point_cloud"
    assert rendering.modality_for("scan.pcd").name == "point_cloud"
    assert rendering.modality_for("scan.tiff") is None                 # still an image unless asked
    assert rendering.modality_for("scan.csv", "point_cloud").name == "point_cloud"


def _truncated(path, write):
    write(path)
    path.write_bytes(path.read_bytes()[:-50])


BAD = {
    "empty.ply": (lambda p: write_ply(p, np.zeros((0, 3)), faces=False), "empty"),
    "nan.xyz": (lambda p: write_table(p, np.full((40, 3), np.nan)), "no finite point"),
    "inf.npy": (lambda p: np.save(p, np.full((40, 3), np.inf)), "no finite point"),
    "few.pcd": (lambda p: write_pcd(p, sphere(10)), "only 10 finite points"),
    "noxyz.ply": (lambda p: p.write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float a\n"
                                         "end_header\n1\n"), "no x/y/z"),
    "cut.ply": (lambda p: _truncated(p, lambda q: write_ply(q, sphere(100), "binary_little_endian",
                                                               faces=False)), "truncated"),
    "cut.pcd": (lambda p: _truncated(p, lambda q: write_pcd(q, sphere(100), "binary")), "truncated"),
    "packed.pcd": (lambda p: write_pcd(p, sphere(100), "binary_compressed"), "re-save it as binary"),
    "words.csv": (lambda p: p.write_text("x,y,z\n1,2,3\n1,two,3\n"), "not a number"),
    "flat.npy": (lambda p: np.save(p, np.zeros((5, 5))), "shape"),
    "header.ply": (lambda p: p.write_text("not a ply at all\n"), "no 'end_header'"),
    "count.ply": (lambda p: p.write_text("ply\nformat ascii 1.0\nelement vertex many\nend_header\n"),
                  "'many' where a count belongs"),
    "type.pcd": (lambda p: p.write_text("FIELDS x y z\nSIZE 4 4 4\nTYPE F F Q\nPOINTS 1\nDATA ascii\n1 2 3\n"),
                 "not F/I/U"),
    "word.ply": (lambda p: p.write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n"
                                        "property float y\nproperty float z\nend_header\n1 2 abc\n"), "non-number"),
    "same.xyz": (lambda p: write_table(p, np.ones((40, 3))), "all 40 points coincide"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_bad_file_is_one_clear_line(tmp_path, name):
    write, says = BAD[name]
    write(tmp_path / name)
    with pytest.raises(BadInput, match=says) as caught:
        read_cloud(tmp_path / name)
    assert "\n" not in str(caught.value) and name in str(caught.value)


def test_a_cloud_over_the_cap_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(point_cloud_files, "MAX_POINTS", 1000)
    write_ply(tmp_path / "big.ply", sphere(2000), "binary_little_endian")
    with pytest.raises(BadInput, match=r"2,000 points, over the cap of 1,000; downsample") as caught:
        read_cloud(tmp_path / "big.ply")
    assert "\n" not in str(caught.value)
