"""Wrong product, unknown object: a part far outside its class is neither PASS nor FAIL but
OUT OF DISTRIBUTION — real textures (scikit-image brick and gravel), a real Chroma store on disk, the
real Inspector, vision-only and with a (scripted) model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.inspector import Inspector
from assistant.records.ingestion import images_in
from retrieval.calibration import MIN_OOD_DISTANCE, nearest_other_distances, ood_limit_from_distances
from retrieval.config import CalibrationConfig
from retrieval.errors import ConfigError


def gravel_tiles(size: int = 96) -> list[np.ndarray]:
    import skimage.data

    from assistant.demo.synthetic_defect import tiles

    return tiles(skimage.data.gravel(), size)


@pytest.fixture(scope="module")
def two_class_home(tmp_path_factory, texture_set):
    """brick (14 tiles of the brick photo) and gravel (14 tiles of the gravel photo); gravel/ holds 3
    further gravel tiles that are not references."""
    root = tmp_path_factory.mktemp("ood")
    tiles = gravel_tiles()
    for folder, part in (("gravel_train", tiles[:14]), ("gravel_test", tiles[14:17])):
        (root / folder).mkdir()
        for i, tile in enumerate(part):
            Image.fromarray(tile).save(root / folder / f"{folder}_{i:02d}.png")
    home = Home(root / "home")
    inspector = Inspector(NormalcyConfig(), home)
    items = [("brick", p) for p in images_in(texture_set / "train")]
    inspector.references.ingest(items + [("gravel", p) for p in images_in(root / "gravel_train")])
    return home, root


@pytest.fixture(scope="module")
def ood_inspector(two_class_home):
    return Inspector(NormalcyConfig(), two_class_home[0])


def test_gravel_inspected_as_brick_is_out_of_distribution_and_named(ood_inspector, two_class_home):
    gravel = sorted((two_class_home[1] / "gravel_test").glob("*.png"))[0]
    inspection = ood_inspector.inspect(gravel, "brick", log=False)
    verdict = inspection.verdict
    assert verdict.status == "out_of_distribution" and verdict.label == "OUT OF DISTRIBUTION"
    assert verdict.correctness == 0 and verdict.model is None
    assert verdict.reasoning.startswith("This does not look like brick; nearest known class: gravel.")
    assert verdict.notice.startswith("Out of distribution:")
    found = verdict.out_of_distribution
    limit = ood_inspector.references.calibration("brick").ood_limit
    assert found["limit"] == limit and found["distance"] > limit and found["nearest_class"] == "gravel"
    assert found["distance"] == pytest.approx(inspection.evidence.references[0].distance, abs=1e-4)


def test_a_normal_of_the_class_is_not_flagged(ood_inspector, texture_set, two_class_home):
    for good in sorted((texture_set / "test" / "good").glob("*.png")):
        verdict = ood_inspector.inspect(good, "brick", log=False).verdict
        assert verdict.status == "vision_only" and verdict.out_of_distribution is None, verdict.reasoning
    for good in sorted((two_class_home[1] / "gravel_test").glob("*.png")):
        assert ood_inspector.gather(good, "gravel").out_of_distribution is None


def test_a_defect_of_the_right_product_is_judged_not_flagged(ood_inspector, texture_set):
    flagged = [ood_inspector.gather(p, "brick").out_of_distribution is not None
               for p in sorted((texture_set / "test" / "defect").glob("*.png"))]
    assert not any(flagged)


def test_a_plain_photo_is_flagged_with_no_known_class(ood_inspector, tmp_path):
    import skimage.data

    red = tmp_path / "red.png"
    Image.fromarray(np.full((128, 128, 3), (200, 30, 30), np.uint8)).save(red)
    coffee = tmp_path / "coffee.png"
    Image.fromarray(skimage.data.coffee()).save(coffee)
    for photo in (red, coffee):
        verdict = ood_inspector.inspect(photo, "brick", log=False).verdict
        assert verdict.status == "out_of_distribution", verdict.reasoning
        assert verdict.reasoning.startswith("This does not look like brick; nearest known class: none.")


def test_with_a_model_the_model_is_not_asked_about_a_wrong_product(two_class_home, texture_set):
    from scripted_backend import ScriptedBackend

    backend = ScriptedBackend(['{"reasoning": "Looks fine.", "correctness": 1}'])
    inspector = Inspector(NormalcyConfig(), two_class_home[0], backend=backend)
    gravel = sorted((two_class_home[1] / "gravel_test").glob("*.png"))[0]
    verdict = inspector.inspect(gravel, "brick", log=False).verdict
    assert verdict.status == "out_of_distribution" and backend.calls == []
    assert "scripted" in verdict.notice and "not asked" in verdict.notice
    good = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    answered = inspector.inspect(good, "brick", log=False).verdict
    assert answered.status in ("ok", "needs_review") and len(backend.calls) == 1
    assert answered.operating_point == inspector.references.calibration("brick").operating_point()


def test_the_limit_is_stored_and_recomputed_when_its_knobs_change(two_class_home):
    home = two_class_home[0]
    before = Inspector(NormalcyConfig(), home).references.calibration("gravel")
    assert before.ood_limit > 0 and before.ood_normals == 14 and before.computed_at
    config = NormalcyConfig()
    wider = replace(config.retrieval.calibration, ood_margin=5.0)
    later = Inspector(replace(config, retrieval=replace(config.retrieval, calibration=wider)), home)
    after = later.references.calibration("gravel")
    assert after.ood_limit == pytest.approx(before.ood_limit * 5.0 / 3.0, rel=1e-3)
    off = replace(config.retrieval.calibration, ood_margin=None)
    unchecked = Inspector(replace(config, retrieval=replace(config.retrieval, calibration=off)), home)
    assert unchecked.references.calibration("gravel").ood_limit is None
    assert Inspector(NormalcyConfig(), home).references.calibration("gravel").ood_limit == before.ood_limit


def test_limit_math_on_synthetic_embeddings():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(30, 8))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    nearest = nearest_other_distances(rows)
    brute = [min(1 - rows[i] @ rows[j] for j in range(30) if j != i) for i in range(30)]
    assert nearest == pytest.approx(brute)
    assert ood_limit_from_distances(nearest, 0.01, 2.0) == pytest.approx(2.0 * nearest.max())
    duplicates = np.zeros(10)                              # identical references: the floor keeps a margin
    assert ood_limit_from_distances(duplicates, 0.01, 1.5) == pytest.approx(1.5 * MIN_OOD_DISTANCE)


@pytest.mark.parametrize("values, key", [({"ood_margin": 0.5}, "ood_margin"), ({"ood_overkill": 0.5}, "ood_overkill"),
                                         ({"ood_overkill": 0.0}, "ood_overkill"),
                                         ({"ood_margin": float("nan")}, "ood_margin")])
def test_bad_ood_knobs_are_refused(values, key):
    with pytest.raises(ConfigError, match=f"^{key}: "):
        CalibrationConfig(**values)
