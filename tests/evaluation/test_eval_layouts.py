"""`normalcy eval` on the folder, visa and json layouts (mvtec: tests/test_eval_cli.py), in-process
through the CLI entry point: the same images give the same test set, references and metrics."""

import json

import pytest
from eval_datasets import write_folder, write_json, write_mvtec, write_visa

from ui.cli import main


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval_layouts")
    mvtec = write_mvtec(root / "mvtec", classes=("brick",))
    return {"folder": write_folder(root / "folder", mvtec), "visa": write_visa(mvtec), "json": write_json(mvtec)}


@pytest.mark.parametrize("layout", ["folder", "visa", "json"])
def test_each_layout_evaluates_with_references_labels_and_masks(trees, layout, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["eval", str(trees[layout]), "--layout", layout, "--out", str(out)]) == 0
    doc = json.loads((out / "metrics.json").read_text())
    brick = doc["classes"]["brick"]
    assert (brick["n"], brick["n_good"], brick["n_defective"]) == (4, 2, 2)
    assert doc["config"]["n_references"] == {"brick": 8} and doc["config"]["layout"] == layout
    assert brick["pixel_auroc"] is not None and brick["aupro"] is not None
    assert brick["auroc"] is not None and (out / "report.html").is_file() and (out / "report.md").is_file()
    assert "wrote" in capsys.readouterr().out
