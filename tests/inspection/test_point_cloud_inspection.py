"""Point clouds end to end (issue 15): PLY plates ingested by `normalcy ingest`, a plate with a bump
inspected by `normalcy inspect --json`: the render goes through retrieval, the map and the calibration
unchanged, and the verdict's 3D box holds the bump."""

import json

import numpy as np
import pytest
from point_cloud_writers import BUMP_CENTRE, BUMP_RADIUS, plate, write_pcd, write_plates, write_ply

from ui.cli import main


@pytest.fixture(scope="module")
def plates(tmp_path_factory):
    root = tmp_path_factory.mktemp("plates")
    write_plates(root / "train")
    points, lifted = plate(bump=0.02, seed=50)
    write_pcd(root / "bump.pcd", points)
    write_ply(root / "good.ply", plate(seed=51)[0])
    return {"train": root / "train", "bump": root / "bump.pcd", "good": root / "good.ply",
            "bump_points": points[lifted]}


@pytest.fixture(scope="module")
def home(plates, tmp_path_factory):
    home = tmp_path_factory.mktemp("pc_home") / "home"
    assert main(["--home", str(home), "ingest", str(plates["train"]), "--class", "plate"]) == 0
    return home


def inspect(home, path, capsys, *extra) -> dict:
    capsys.readouterr()
    assert main(["--home", str(home), "inspect", str(path), "--class", "plate", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_bump_fails_and_its_3d_box_holds_it(home, plates, capsys):
    good, bump = inspect(home, plates["good"], capsys), inspect(home, plates["bump"], capsys)
    assert good["modality"] == bump["modality"] == "point_cloud"
    assert good["correctness"] == 1 and bump["correctness"] == 0 and bump["anomaly_score"] > good["anomaly_score"]
    box = bump["location"]["box_3d"]
    centre = np.array([*BUMP_CENTRE, plates["bump_points"][:, 2].max()])
    assert all(lo - BUMP_RADIUS <= c <= hi + BUMP_RADIUS for lo, c, hi in zip(box["min"], centre, box["max"]))
    assert bump["location"]["points"] > 0 and "In the point cloud: x " in bump["reasoning"]


def test_the_class_keeps_its_view_and_refuses_other_inputs(home, plates, texture_set, capsys):
    profile = json.loads((home / "modality_profiles.json").read_text())["plate"]
    assert profile["modality"] == "point_cloud" and profile["fitted_on"] == 12
    photo = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    assert main(["--home", str(home), "inspect", str(photo), "--class", "plate"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds point cloud references" in err
    empty = plates["train"].parent / "empty.ply"
    empty.write_text("ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nproperty float y\n"
                     "property float z\nend_header\n")
    assert main(["--home", str(home), "inspect", str(empty), "--class", "plate"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
