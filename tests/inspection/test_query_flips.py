"""Test-time flips of the query (`classes.NAME.flips`): the map is the per-cell geometric mean of the
query and its three flips scored against the same references, each flip undone; calibration scores the
references the same way; off by default, so other classes' maps and calibrations are untouched."""

import numpy as np
import pytest
from cli_runner import run_cli

from assistant.config import NormalcyConfig, from_dict
from assistant.home import Home
from assistant.inspector import Inspector
from retrieval import anomaly_map
from retrieval.errors import ConfigError

FLIPPED = from_dict(NormalcyConfig, {"classes": {"brick": {"flips": True}}})


def test_each_flip_is_undone_before_the_cells_are_combined():
    hot = np.ones((4, 6), np.float32)
    hot[1, 4] = 16.0                                 # the cell (y 1, x 4) in the query as it is
    views = [hot, hot[:, ::-1], hot[::-1, :], hot[::-1, ::-1]]   # where each flipped view sees it
    combined = anomaly_map.unflip_geomean(views)
    assert np.unravel_index(int(np.argmax(combined)), combined.shape) == (1, 4)
    assert combined[1, 4] == pytest.approx(16.0) and combined[0, 0] == pytest.approx(1.0)


def test_a_cell_warm_in_one_view_only_is_damped_to_the_geometric_mean():
    cold = np.ones((3, 3), np.float32)
    one = cold.copy()
    one[0, 0] = 16.0
    assert anomaly_map.unflip_geomean([one, cold, cold, cold])[0, 0] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="expected 4 maps"):
        anomaly_map.unflip_geomean([cold, cold])


def test_flips_change_the_map_but_keep_the_defect_where_it_is(home_copy, texture_set):
    defects = sorted((texture_set / "test" / "defect").glob("*.png"))
    plain, flipped = Inspector(NormalcyConfig(), Home(home_copy)), Inspector(FLIPPED, Home(home_copy))
    inside = {"plain": 0, "flips": 0}
    for path in defects:
        mask = np.load(path.with_suffix(".npy")) > 0
        for name, inspector in (("plain", plain), ("flips", flipped)):
            evidence = inspector.gather(inspector.load(path), "brick")
            peak = np.unravel_index(int(np.argmax(evidence.score_map)), evidence.score_map.shape)
            inside[name] += bool(mask[peak])
        assert not np.allclose(plain.gather(plain.load(path), "brick").grid,
                               flipped.gather(flipped.load(path), "brick").grid)
    # a flip left undone would move the peak to the mirrored place, off the defect
    assert inside["flips"] >= inside["plain"] - 1 and inside["flips"] >= len(defects) // 2, inside


def test_calibration_scores_the_references_with_the_flips_too(home_copy):
    plain, flipped = Inspector(NormalcyConfig(), Home(home_copy)), Inspector(FLIPPED, Home(home_copy))
    before = plain.thresholds.current("brick")
    after = flipped.thresholds.current("brick")
    assert "|flips" not in before.settings
    assert after.settings == before.settings.replace("|target=", "|flips|target=")
    assert after.threshold != pytest.approx(before.threshold)
    assert plain.thresholds.current("brick").settings == before.settings    # switching back recalibrates
    assert "|flips" not in plain.thresholds.settings("grass")             # other classes are untouched


def test_scores_made_another_way_are_not_reused(home_copy):
    """A change of how references are scored (flips, sigma) rescores every one; the target does not."""
    home = Home(home_copy)
    Inspector(NormalcyConfig(), home).thresholds.current("brick")
    flipped = Inspector(FLIPPED, home).thresholds
    flipped.current("brick")
    assert flipped.reused == 0
    retargeted = Inspector(from_dict(NormalcyConfig, {"classes": {"brick": {"flips": True}}, "retrieval": {
        "calibration": {"target_overkill": 0.05}}}), home).thresholds
    retargeted.current("brick")
    assert retargeted.reused == 14


def test_flips_need_matching_anywhere():
    with pytest.raises(ConfigError, match="classes.brick.flips"):
        from_dict(NormalcyConfig, {"retrieval": {"map": {"window": 2}, "features": {"coreset": 1.0}},
                                   "classes": {"brick": {"flips": True}}})


def test_flips_with_a_position_window_is_one_line_and_exit_2(ready_home, texture_set, tmp_path):
    config = tmp_path / "flips.yaml"
    config.write_text("retrieval:\n  map:\n    window: 2\n  features:\n    coreset: 1.0\n"
                      "classes:\n  brick:\n    flips: true\n")
    good = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    done = run_cli("--home", str(ready_home.root), "--config", str(config), "inspect", str(good), "--class", "brick")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and done.stdout == "" and len(lines) == 1, done.stderr
    assert "flips" in lines[0] and "window" in lines[0]


def test_the_elpv_preset_flips_polycrystalline_cells_only():
    from assistant.config import REPO_ROOT, load_config

    config = load_config(REPO_ROOT / "configs" / "elpv.yaml")
    assert config.for_class("solar_cell_poly").flips and not config.for_class("solar_cell_mono").flips
    assert config.features_for("solar_cell_poly").coreset == 0.5
    assert config.features_for("solar_cell_mono") == NormalcyConfig().retrieval.features
    assert config.retrieval == NormalcyConfig().retrieval


def test_a_class_coreset_keeps_its_own_feature_files(home_copy, texture_set):
    """classes.NAME.coreset: the class's references are stored (and scored) at its own coreset, in the
    folder of that encoding; the calibration says so; a window that needs whole grids is refused."""
    config = from_dict(NormalcyConfig, {"classes": {"brick": {"coreset": 0.5}}})
    inspector = Inspector(config, Home(home_copy))
    first = sorted((texture_set / "train").glob("*.png"))[0]
    features, embeddings = inspector.scorer.featurize([inspector.load(first).image])
    reference = inspector.workspace.references.nearest("brick", embeddings[0], 1)[0]
    cells = features.shape[-2] * features.shape[-1]
    default = Inspector(NormalcyConfig(), Home(home_copy)).scorer.stored(reference)
    assert default.bank.shape[0] == round(cells * NormalcyConfig().retrieval.features.coreset)
    assert inspector.scorer.stored(reference).bank.shape[0] == round(cells * 0.5)
    assert inspector.workspace.features_for("brick").path(reference.sha256).is_file()
    assert "-core0.5-pca64|" in inspector.thresholds.current("brick").settings
    with pytest.raises(ConfigError, match="classes.brick.coreset"):
        from_dict(NormalcyConfig, {"retrieval": {"map": {"window": 2}, "features": {"coreset": 1.0}},
                                   "classes": {"brick": {"coreset": 0.5}}})
