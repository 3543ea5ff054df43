"""The evidence core on real weights and a real texture with synthetic defects of known masks."""

import numpy as np
import pytest


def _defects(texture_set):
    folder = texture_set / "test" / "defect"
    return [(p, np.load(p.with_suffix(".npy"))) for p in sorted(folder.glob("*.png"))]


def test_hottest_region_falls_inside_the_defect_mask(inspector, texture_set):
    for path, mask in _defects(texture_set):
        evidence = inspector.inspect(path, "brick", log=False).evidence
        x, y = evidence.peak
        # the peak is a cell centre on a 12 px grid (96 px tile / 8 px stride): allow one cell of slack
        near = mask[max(0, y - 12):y + 13, max(0, x - 12):x + 13]
        assert near.any(), f"{path.name}: peak {(x, y)} is not at the defect"
        hot = evidence.score_map >= np.quantile(evidence.score_map, 0.95)
        assert (hot & mask).sum() > 0.5 * min(hot.sum(), mask.sum()), path.name


def test_defect_images_score_above_normal_ones(inspector, texture_set):
    good = [inspector.inspect(p, "brick", log=False).verdict.anomaly_score
            for p in sorted((texture_set / "test" / "good").glob("*.png"))]
    bad = [inspector.inspect(p, "brick", log=False).verdict.anomaly_score for p, _ in _defects(texture_set)]
    assert min(bad) > max(good), (good, bad)
    # the threshold, calibrated on normal references only, passes every good tile and rejects most defects
    assert max(good) < 1.0, good
    assert sum(score >= 1.0 for score in bad) >= 2 * len(bad) / 3, bad


def test_evidence_has_k_nearest_references_and_class_rules(inspector, texture_set):
    path = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    evidence = inspector.inspect(path, "brick", question="is the mortar cracked?", log=False).evidence
    assert len(evidence.references) == inspector.config.retrieval.map.k
    distances = [r.distance for r in evidence.references]
    assert distances == sorted(distances)
    assert evidence.rules and all(r.rule.class_name in ("brick", "*") for r in evidence.rules)
    assert evidence.score_map.shape == evidence.query.image.size[::-1]


def test_overlays_are_images_of_the_query_size(inspector, texture_set):
    path, _ = _defects(texture_set)[0]
    evidence = inspector.inspect(path, "brick", log=False).evidence
    for style in ("heatmap", "contour", "box", "all"):
        overlay = evidence.overlay(style)
        assert overlay.size == evidence.query.size and overlay.mode == "RGB"
    assert evidence.defect_box is not None
    boxed = np.asarray(evidence.overlay("box"))
    x0, y0, _, _ = evidence.defect_box
    assert tuple(boxed[y0, x0]) == (255, 40, 40)


def test_reference_features_are_cached_not_recomputed(inspector, texture_set, monkeypatch):
    path = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    calls = []
    original = inspector.scorer.featurize
    monkeypatch.setattr(inspector.scorer, "featurize", lambda images: calls.append(len(images)) or original(images))
    inspector.inspect(path, "brick", log=False)
    assert calls == [1]          # only the query is encoded


def test_vision_only_verdict_says_no_model_is_configured(inspector, texture_set):
    path, _ = _defects(texture_set)[0]
    verdict = inspector.inspect(path, "brick", log=False).verdict
    assert verdict.status == "vision_only" and verdict.correctness == 0
    assert "No language model is configured" in verdict.reasoning
    assert "threshold" in verdict.reasoning and verdict.defect_box
    assert verdict.anomaly_score == pytest.approx(verdict.map_score / verdict.threshold, rel=1e-3)


def test_a_verdict_never_holds_a_nan_score():
    import math

    import pytest

    from assistant.verdict import Verdict

    with pytest.raises(ValueError, match="finite"):
        Verdict(reasoning="", correctness=1, anomaly_score=math.nan, threshold=1.0, status="vision_only",
                class_name="brick", map_score=math.nan, image_sha256="0" * 64)


def test_a_reference_copy_gone_is_one_missing_weights_line(inspector, texture_set):
    """The gallery / "compare" path: a stored copy that vanished names the reference and the fix."""
    from dataclasses import replace
    from types import SimpleNamespace

    from retrieval.errors import MissingWeights

    good = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    evidence = inspector.gather(inspector.load(good), "brick")
    gone = replace(evidence, copies=SimpleNamespace(picture=lambda sha: None))
    with pytest.raises(MissingWeights, match="re-ingest class brick"):
        gone.reference_image(evidence.references[0])
