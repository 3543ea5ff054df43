"""The series' band deviation in the verdict's score (issue 15, `inspection/band_fusion`), through the whole
Inspector on series generated here: a class of 4-channel hourly series (the sine-and-noise shape of
test_time_series_inspection, one panel per channel, so each panel is small on the render), its band
threshold calibrated leave one out and stored with the class calibration, a level shift over the last
hours that the plot-based map misses but the band catches, a normal series, and a home whose profile
predates the band threshold."""

import json
import shutil
from dataclasses import asdict, replace

import numpy as np
import pytest

from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.inspection.band_fusion import HELD_OUT, RECIPE, band_decides, band_limit, fused
from assistant.inspector import Inspector
from assistant.modalities.time_series_band import build_profile, band_of, deviations
from assistant.modalities.time_series_files import read_series
from retrieval.calibration import Calibration, threshold_at_overkill

T, CHANNELS = 240, ("c0", "c1", "c2", "c3")
ONSET = 234                              # the shift holds for the last 6 hours: a few pixels of the render
SHIFT = 1.8                              # the channel-0 level shift: the map puts it at 0.95 of its limit


def write_series(path, seed: int, shift: float = 0.0):
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    values = np.column_stack([20 + 3 * np.sin(2 * np.pi * t / 24 + c) + rng.normal(0, 0.3, T)
                              for c in range(len(CHANNELS))])
    values[ONSET:, 0] += shift
    np.savetxt(path, values, delimiter=",", header=",".join(CHANNELS), comments="", fmt="%.4f")
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("band")
    references = [write_series(root / f"ref_{k:02d}.csv", seed=k) for k in range(14)]
    inspector = Inspector(NormalcyConfig(), Home(root / "home"))
    inspector.references.ingest([("line", path) for path in references])
    return inspector, root, references


def test_the_calibration_holds_a_band_threshold_from_leave_one_out_deviations(home):
    inspector, root, references = home
    calibration = inspector.references.calibration("line")
    stored = json.loads((root / "home" / "calibration.json").read_text())["line"]
    assert stored["band_threshold"] == calibration.band_threshold > 0 and stored["band_normals"] == 14
    profile = json.loads((root / "home" / "modality_profiles.json").read_text())["line"]["profile"]
    held_out = list(profile[HELD_OUT].values())
    assert calibration.band_threshold == round(band_limit(held_out, calibration.target_overkill), 6)
    assert calibration.band_threshold > max(held_out)     # 14 normals are too few for 2 %: the bound lifts it
    series = [read_series(path) for path in references]
    others = band_of(build_profile(series[1:]))              # the first reference, left out of its band
    left_out = float(deviations(series[0], others).max())
    inside = float(deviations(series[0], band_of(profile)).max())
    assert any(abs(score - left_out) < 1e-9 for score in held_out)
    assert left_out > inside            # scored against a band that held it, a reference would look tamer


def test_a_level_shift_the_map_misses_but_the_band_catches_fails_where_it_leaves_the_band(home):
    inspector, root, _ = home
    inspection = inspector.inspect(write_series(root / "shift.csv", seed=95, shift=SHIFT), "line", log=False)
    evidence, verdict = inspection.evidence, inspection.verdict
    assert evidence.map_ratio < 1.0 <= evidence.band_ratio, (evidence.map_ratio, evidence.band_ratio)
    assert verdict.correctness == 0 and verdict.anomaly_score == round(evidence.anomaly_score, 4) >= 1.0
    location = verdict.location
    assert location["channels"] == ["c0"] and location["time_range"][0] >= ONSET - 2, location
    assert location["scores"]["decided_by"] == "band"
    assert location["scores"]["map"] == round(evidence.map_ratio, 4)
    assert "In the series: " in verdict.reasoning and "channel c0" in verdict.reasoning
    assert f"the band's {evidence.band_ratio:.2f}" in verdict.reasoning      # vision-only: both parts said
    assert "The band decides" in verdict.reasoning and "region that deviates most" not in verdict.reasoning


def test_a_normal_series_passes_and_says_both_parts(home):
    inspector, root, _ = home
    inspection = inspector.inspect(write_series(root / "normal.csv", seed=90), "line", log=False)
    scores = inspection.verdict.location["scores"]
    assert inspection.verdict.correctness == 1, scores
    assert scores["map"] < 1 and scores["band"] < 1
    assert scores["band_threshold"] == inspection.evidence.calibration.band_threshold


def test_a_home_whose_profile_predates_the_band_threshold_still_inspects_on_its_map(home):
    inspector, root, _ = home
    old = root / "old_home"
    shutil.copytree(root / "home", old)
    profiles = json.loads((old / "modality_profiles.json").read_text())
    del profiles["line"]["profile"][HELD_OUT]
    (old / "modality_profiles.json").write_text(json.dumps(profiles))
    aged = Inspector(NormalcyConfig(), Home(old))
    inspection = aged.inspect(write_series(root / "shift_old.csv", seed=95, shift=SHIFT), "line", log=False)
    assert inspection.evidence.calibration.band_threshold is None and inspection.evidence.band_ratio is None
    assert inspection.verdict.anomaly_score == round(inspection.evidence.map_ratio, 4)
    assert inspection.verdict.correctness == 1           # the map alone misses the shift, as before the band
    assert inspection.verdict.location is None or "scores" not in inspection.verdict.location


def test_too_few_normals_for_the_target_lift_the_band_limit_above_their_maximum():
    rng = np.random.default_rng(0)
    few = rng.lognormal(-1.0, 0.4, size=14)
    bound = band_limit(few, 0.02)
    assert bound > few.max()                                 # 14 < 1 / 0.02 - 1: the maximum promises 1 / 15
    assert band_limit(few, 0.01) > bound                     # a stricter target asks for a higher limit
    tied = np.full(14, 0.3)                                  # no spread: the bound is the maximum itself
    assert band_limit(tied, 0.02) == pytest.approx(0.3)


def test_enough_normals_for_the_target_keep_the_conformal_quantile():
    many = np.random.default_rng(1).lognormal(-1.0, 0.4, size=99)
    quantile, _, _, expected = threshold_at_overkill(many, 0.02)
    assert expected <= 0.02 and quantile < many.max()
    assert band_limit(many, 0.02) == quantile


def test_a_calibration_from_the_earlier_band_recipe_is_recomputed(home):
    inspector, root, _ = home
    old = root / "old_recipe"
    shutil.copytree(root / "home", old)
    calibrations = json.loads((old / "calibration.json").read_text())
    current = Calibration(**calibrations["line"])
    assert f"band={RECIPE}" in current.settings
    earlier = replace(current, settings=current.settings.replace(f"band={RECIPE}", "band=band-loo-v1"),
                      band_threshold=round(current.band_threshold / 2, 6))   # sealed as an older recipe would
    calibrations["line"] = asdict(earlier.sealed())
    (old / "calibration.json").write_text(json.dumps(calibrations))
    reopened = Inspector(NormalcyConfig(), Home(old)).references.calibration("line")
    assert reopened.band_threshold == inspector.references.calibration("line").band_threshold


def test_either_part_past_its_limit_fails_the_series_and_the_band_decides_only_when_it_does():
    assert fused(1.2, 0.3) == 1.2               # a calm band never hides what the map sees
    assert fused(0.6, 1.1) == 1.1 and band_decides(0.6, 1.1)
    assert not band_decides(1.2, 0.3) and not band_decides(0.6, 0.9)    # the band larger, but inside its limit
    assert fused(0.7, None) == 0.7               # no band part: the map alone, as before
