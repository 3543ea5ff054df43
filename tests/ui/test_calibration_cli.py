"""`normalcy calibration show|set` and the OUT OF DISTRIBUTION verdict, through the real console script
(subprocesses) over a real home: brick and gravel textures in a Chroma store on disk."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import run_cli
from PIL import Image

from ui.evidence_panel import verdict_card


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory, texture_set):
    """A home with classes brick and gravel (14 real tiles each) and one gravel tile that is no reference."""
    import skimage.data

    from assistant.config import NormalcyConfig
    from assistant.demo.synthetic_defect import tiles
    from assistant.home import Home
    from assistant.inspector import Inspector
    from assistant.records.ingestion import images_in

    root = tmp_path_factory.mktemp("calibration_cli")
    gravel = tiles(skimage.data.gravel(), 96)
    (root / "gravel").mkdir()
    for i, tile in enumerate(gravel[:14]):
        Image.fromarray(tile).save(root / "gravel" / f"g{i:02d}.png")
    Image.fromarray(gravel[15]).save(root / "other_gravel.png")
    (root / "slow_machine.yaml").write_text("inputs:\n  max_seconds: 900\n")   # shared CI cores: time is not tested here
    inspector = Inspector(NormalcyConfig(), Home(root / "home"))
    inspector.references.ingest([("brick", p) for p in images_in(texture_set / "train")]
                                + [("gravel", p) for p in images_in(root / "gravel")])
    return root


def _inspect(root, *args):
    return run_cli("--home", str(root / "home"), "--config", str(root / "slow_machine.yaml"), "inspect", *args)


def _one_line_error(done, *fragments):
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert done.stdout == ""
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_wrong_product_shows_out_of_distribution_and_exits_0(cli_home):
    image = str(cli_home / "other_gravel.png")
    done = _inspect(cli_home, image, "--class", "brick")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OUT OF DISTRIBUTION  other_gravel.png  [brick]"), done.stdout
    assert "This does not look like brick; nearest known class: gravel." in done.stdout
    assert "Out of distribution:" in done.stdout                      # the notice line
    as_json = _inspect(cli_home, image, "--class", "brick", "--json")
    verdict = json.loads(as_json.stdout)
    assert verdict["status"] == "out_of_distribution" and verdict["correctness"] == 0
    assert verdict["out_of_distribution"]["nearest_class"] == "gravel"
    assert verdict["out_of_distribution"]["distance"] > verdict["out_of_distribution"]["limit"]
    card = verdict_card(verdict)                                       # the browser's verdict card
    assert '<div class="nc-label">OUT OF DISTRIBUTION</div>' in card and "nc-ood" in card
    assert "does not look like this class" in card and "Out of distribution: This does not look like brick" in card


def test_show_prints_the_operating_point_it_rests_on(cli_home):
    home = cli_home / "home"
    done = run_cli("--home", str(home), "calibration", "show", "brick")
    assert done.returncode == 0, done.stderr
    stored = json.loads((home / "calibration.json").read_text())["brick"]
    assert done.stdout.startswith(f"brick: threshold {stored['threshold']:.6g} ")
    assert "target overkill    2.00% (the configured calibration.target_overkill)" in done.stdout
    assert f"expected overkill  {stored['expected_overkill']:.2%}, resting on 14 leave-one-out" in done.stdout
    assert f"{stored['computed_at']} from 14 references" in done.stdout
    assert f"out of distribution {stored['ood_limit']:.4f}" in done.stdout
    record = json.loads(run_cli("--home", str(home), "calibration", "show", "brick", "--json").stdout)
    assert record["threshold"] == stored["threshold"] and record["target_set_for_class"] is False


def test_set_stores_a_class_target_and_the_threshold_follows_it(cli_home, texture_set):
    home = cli_home / "home"
    before = json.loads(run_cli("--home", str(home), "calibration", "show", "brick", "--json").stdout)
    done = run_cli("--home", str(home), "calibration", "set", "brick", "--target-overkill", "0.25")
    assert done.returncode == 0, done.stderr
    assert "target overkill    25.00% (set for this class)" in done.stdout
    assert json.loads((home / "calibration_targets.json").read_text()) == {"brick": 0.25}
    after = json.loads((home / "calibration.json").read_text())
    # 14 leave-one-out scores, target 0.25: the 12th smallest (ceil(15 * 0.75)), promising 3 / 15
    assert after["brick"]["threshold"] < before["threshold"] and after["brick"]["expected_overkill"] == 0.2
    assert after["gravel"]["target_overkill"] == 0.02                 # the other class keeps the default
    good = str(sorted((texture_set / "test" / "good").glob("*.png"))[0])
    verdict = json.loads(_inspect(cli_home, good, "--class", "brick", "--json").stdout)
    assert verdict["threshold"] == pytest.approx(after["brick"]["threshold"], rel=1e-5)
    assert verdict["operating_point"] == {"target_overkill": 0.25, "expected_overkill": 0.2, "normals": 14}
    assert "expected overkill 20.0%" in verdict["reasoning"]


def test_bad_calibration_requests_are_one_line_and_exit_2(cli_home, tmp_path):
    home = cli_home / "home"
    _one_line_error(run_cli("--home", str(home), "calibration", "show", "nope"), "'nope'", "known classes: brick")
    _one_line_error(run_cli("--home", str(home), "calibration", "set", "nope", "--target-overkill", "0.01"), "'nope'")
    targets = home / "calibration_targets.json"
    kept = targets.read_text() if targets.exists() else None
    _one_line_error(run_cli("--home", str(home), "calibration", "set", "gravel", "--target-overkill", "0.7"),
                    "--target-overkill", "< 0.5")
    assert (targets.read_text() if targets.exists() else None) == kept
    empty = tmp_path / "empty_home"
    _one_line_error(run_cli("--home", str(empty), "calibration", "show", "brick"), "empty")
    assert not empty.exists()
