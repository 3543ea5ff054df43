"""Image and pixel metrics, checked against scikit-learn and hand-made masks with known answers."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.measure import label as sk_label
from sklearn import metrics as skm

from assistant.evaluation import metrics as m
from assistant.evaluation import pixel_metrics as pm
from assistant.evaluation.metrics import ImageRecord

rng = np.random.default_rng(0)


def random_case(n: int, levels: int, seed: int):
    """Labels with both classes and scores quantised to `levels` values (many ties)."""
    r = np.random.default_rng(seed)
    y = r.integers(0, 2, n)
    y[:2] = (0, 1)
    s = r.integers(0, levels, n) / (levels - 1) * 2.0 + y * r.random(n)
    return y, np.round(s, 2), r.integers(0, 2, n)


@pytest.mark.parametrize("seed,levels", [(0, 3), (1, 5), (2, 50), (3, 1000)])
def test_ranking_metrics_match_sklearn_with_ties(seed, levels):
    y, s, _ = random_case(200, levels, seed)
    assert m.auroc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert m.aupr(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
    assert m.aupr_normal_positive(y, s) == pytest.approx(skm.average_precision_score(1 - y, -s), abs=1e-12)
    for thr in (0.5, 1.0, 1.5):
        assert m.f1_at(y, s, thr) == pytest.approx(skm.f1_score(y, s > thr), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_decision_metrics_match_sklearn(seed):
    y, _, d = random_case(150, 5, seed)
    tn, fp, fn, tp = skm.confusion_matrix(y, d, labels=[0, 1]).ravel()
    assert m.confusion(y, d) == {"tp": tp, "fp": fp, "tn": tn, "fn": fn}
    assert m.accuracy(y, d) == pytest.approx(skm.accuracy_score(y, d))
    assert m.balanced_accuracy(y, d) == pytest.approx(skm.balanced_accuracy_score(y, d))
    assert m.f1(y, d) == pytest.approx(skm.f1_score(y, d))
    assert m.overkill_rate(y, d) == pytest.approx(fp / (fp + tn))
    assert m.miss_rate(y, d) == pytest.approx(fn / (fn + tp))


def brute_force_f1_max(y, s):
    return max(skm.f1_score(y, s >= t, zero_division=0.0) for t in np.unique(s))


samples = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 6)), min_size=0, max_size=40)


@settings(max_examples=150, deadline=None)
@given(samples)
def test_hypothesis_against_sklearn(pairs):
    y = np.array([p[0] for p in pairs], dtype=int)
    s = np.array([p[1] for p in pairs], dtype=float) / 3.0
    if y.size == 0 or y.min() == y.max():
        assert m.auroc(y, s) is None and m.aupr(y, s) is None and m.aupr_normal_positive(y, s) is None
        assert m.roc_curve(y, s) is None and m.curves(y, s) is None
    else:
        assert m.auroc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
        assert m.aupr(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
        fpr, tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
        ours = m.roc_curve(y, s)
        np.testing.assert_allclose(ours[0], fpr)
        np.testing.assert_allclose(ours[1], tpr)
    best = m.f1_max(y, s)
    if not y.any():
        assert best is None
    else:
        assert best[0] == pytest.approx(brute_force_f1_max(y, s), abs=1e-12)
        assert m.f1_at(y, s, best[1]) == pytest.approx(best[0], abs=1e-12)


def test_ties_count_one_half():
    assert m.auroc([0, 1], [0.5, 0.5]) == 0.5
    assert m.auroc([0, 0, 1, 1], [0.1, 0.4, 0.4, 0.9]) == pytest.approx(0.875)
    np.testing.assert_allclose(m.average_ranks(np.array([3.0, 1.0, 3.0, 2.0])), [3.5, 1.0, 3.5, 2.0])


def test_degenerate_inputs_are_none_not_nan():
    assert m.auroc([], []) is None
    assert m.auroc([1, 1, 1], [0.1, 0.2, 0.3]) is None
    assert m.aupr([0, 0], [0.1, 0.2]) is None
    assert m.f1_at([0, 0], [0.1, 2.0]) is None
    assert m.f1_max([], []) is None
    assert m.accuracy([], []) is None
    assert m.accuracy([0, 0], [0, 1]) == 0.5  # one class is fine for accuracy
    assert m.balanced_accuracy([0, 0], [0, 1]) is None
    assert m.overkill_rate([1, 1], [1, 0]) is None
    assert m.miss_rate([0, 0], [1, 0]) is None
    assert m.miss_rate([1, 1], [1, 0]) == 0.5


def test_malformed_arrays_are_value_errors():
    with pytest.raises(ValueError, match="0 \\(good\\) and 1"):
        m.auroc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="finite"):
        m.auroc([0, 1], [0.1, float("nan")])
    with pytest.raises(ValueError, match="does not match"):
        m.aupr([0, 1, 1], [0.1, 0.2])


def test_auroc_is_computed_on_scores_not_decisions():
    y = [0, 0, 1, 1]
    assert m.auroc(y, [0.2, 0.9, 0.95, 1.5]) == 1.0  # all ordered right, although 0.9 < 1.0 < 0.95


def records():
    rows = [("bottle", 0, 0.2, 0, "ok"), ("bottle", 0, 1.4, 1, "ok"), ("bottle", 1, 2.0, 1, "ok"),
            ("bottle", 1, 0.7, 0, "ok"), ("bottle", 1, 1.1, None, "unparsed"),
            ("bottle", 0, 0.9, None, "unparsed"), ("cable", 0, 0.3, 0, "vision_only"),
            ("cable", 0, 0.4, 0, "vision_only")]
    return [ImageRecord(c, lab, s, d, st_, path=f"{c}/{i}.png") for i, (c, lab, s, d, st_) in enumerate(rows)]


def test_summarise_keeps_unparsed_and_counts_them():
    per_class = m.summarise_classes(records())
    bottle = per_class["bottle"]
    assert bottle["n"] == 6 and bottle["n_unparsed"] == 2 and bottle["n_good"] == 3
    # unparsed without a decision are counted as rejected: the good one is overkill, the defect a catch
    assert (bottle["tp"], bottle["fp"], bottle["tn"], bottle["fn"]) == (2, 2, 1, 1)
    assert bottle["acc"] == pytest.approx(3 / 6)
    assert bottle["overkill"] == pytest.approx(2 / 3) and bottle["miss"] == pytest.approx(1 / 3)
    y, s = [0, 0, 1, 1, 1, 0], [0.2, 1.4, 2.0, 0.7, 1.1, 0.9]
    assert bottle["auroc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert bottle["f1_at_thr"] == pytest.approx(skm.f1_score(y, np.array(s) > 1.0))
    cable = per_class["cable"]
    assert cable["auroc"] is None and cable["miss"] is None and cable["acc"] == 1.0
    assert cable["n_vision_only"] == 2 and cable["pixel_auroc"] is None and cable["aupro"] is None


def test_mean_ignores_none_and_totals_counts():
    per_class = m.summarise_classes(records(), pixel={"cable": {"pixel_auroc": 0.8, "aupro": 0.5}})
    mean = m.mean_metrics(per_class)
    assert mean["auroc"] == per_class["bottle"]["auroc"]  # cable's None is ignored
    assert mean["acc"] == pytest.approx((0.5 + 1.0) / 2)
    assert mean["pixel_auroc"] == 0.8 and mean["n"] == 8 and mean["n_unparsed"] == 2
    assert mean["n_classes"] == 2 and "f1_max_threshold" not in mean


def test_metrics_document_is_strict_json():
    per_class = m.summarise_classes(records())
    doc = m.metrics_document(per_class, {"k": 3}, strategies={"plain": per_class})
    text = json.dumps(doc, allow_nan=False)
    assert set(json.loads(text)) == {"classes", "mean", "config", "strategies"}
    assert json.loads(text)["classes"]["cable"]["auroc"] is None


def test_record_from_verdict_inverts_correctness():
    rec = ImageRecord.from_verdict({"correctness": 1, "anomaly_score": 0.4, "status": "ok"},
                                   class_name="screw", label=1, path="a.png")
    assert rec.decision == 0 and rec.rejected == 0
    with pytest.raises(ValueError, match="status"):
        ImageRecord("screw", 0, 0.1, 0, "maybe")


def test_worst_cases_are_the_most_confident_mistakes():
    worst = m.worst_cases(records(), k=1)
    assert [(w["kind"], w["path"]) for w in worst] == [("false_positive", "bottle/1.png"),
                                                      ("false_negative", "bottle/3.png")]


# ---- pixel metrics ----------------------------------------------------------------------------

def two_region_case():
    mask = np.zeros((8, 8), bool)
    mask[0:2, 0:2] = True  # region A, 4 px
    mask[5:7, 5:7] = True  # region B, 4 px
    return mask


def test_pixel_auroc_matches_sklearn_with_ties():
    maps = [np.round(rng.random((16, 16)), 1) for _ in range(6)]
    masks = [np.zeros((16, 16), bool) for _ in range(6)]
    for k in range(3):
        masks[k][3:9, 4:8] = True
        maps[k][masks[k]] += 0.3
    flat_y = np.concatenate([k.ravel() for k in masks])
    flat_s = np.concatenate([a.ravel() for a in maps])
    out = pm.pixel_metrics(maps, masks)
    assert out["pixel_method"] == "exact" and out["pixel_auroc_max_error"] == 0.0
    assert out["pixel_auroc"] == pytest.approx(skm.roc_auc_score(flat_y, flat_s), abs=1e-12)


def test_binned_path_stays_within_its_reported_bound():
    maps = [rng.random((40, 40)) for _ in range(8)]
    masks = [np.zeros((40, 40), bool) for _ in range(8)]
    for k in range(4):
        masks[k][5:15, 10:30] = True
        maps[k][masks[k]] += 0.4
    exact = pm.pixel_metrics(maps, masks)
    binned = pm.pixel_metrics(maps, masks, max_exact_pixels=2000, n_bins=256)
    assert binned["pixel_method"] == "binned"
    assert abs(binned["pixel_auroc"] - exact["pixel_auroc"]) <= binned["pixel_auroc_max_error"] + 1e-12
    assert abs(binned["aupro"] - exact["aupro"]) <= binned["aupro_max_error"] + 1e-12
    assert binned["pixel_auroc_max_error"] < 0.01 and binned["aupro_max_error"] < 0.02


def test_aupro_perfect_map_is_one():
    mask = two_region_case()
    masks = [mask, np.zeros_like(mask)]
    assert pm.aupro([k.astype(float) for k in masks], masks) == pytest.approx(1.0)


def test_aupro_hand_computed_half_detected():
    # map hot on region A only: curve (0,0) → (0, 0.5) → (1, 1); PRO(0.3) = 0.65;
    # area to 0.3 = 0.3 · (0.5 + 0.65) / 2 = 0.1725; normalised 0.575
    mask = two_region_case()
    amap = np.zeros((8, 8))
    amap[0:2, 0:2] = 1.0
    assert pm.aupro([amap], [mask]) == pytest.approx(0.575)


def test_aupro_of_random_map_is_low():
    masks = [np.zeros((64, 64), bool) for _ in range(4)]
    for k in masks:
        k[10:30, 20:40] = True
    maps = [rng.random((64, 64)) for _ in masks]
    assert pm.aupro(maps, masks) < 0.25  # chance level is 0.15 (PRO ≈ FPR)


def reference_aupro(maps, masks, limit=0.3):
    """Brute force as in the MVTec AD definition: every threshold, skimage regions, trapezoids."""
    regions = [(i, lab == r) for i, k in enumerate(masks)
               for lab in [sk_label(k, connectivity=2)] for r in range(1, lab.max() + 1)]
    n_normal = sum((~k).sum() for k in masks)
    fprs, pros = [0.0], [0.0]
    for t in np.unique(np.concatenate([a.ravel() for a in maps]))[::-1]:
        fprs.append(sum(((a >= t) & ~k).sum() for a, k in zip(maps, masks)) / n_normal)
        pros.append(np.mean([(maps[i][r] >= t).mean() for i, r in regions]))
    x, y = np.array(fprs), np.array(pros)
    j = np.flatnonzero(x > limit)[0]
    y_lim = y[j - 1] + (y[j] - y[j - 1]) * (limit - x[j - 1]) / (x[j] - x[j - 1])
    return np.trapezoid(np.r_[y[:j], y_lim], np.r_[x[:j], limit]) / limit


def test_aupro_matches_brute_force_reference():
    r = np.random.default_rng(7)
    masks = [r.random((12, 12)) > 0.85 for _ in range(5)] + [np.zeros((12, 12), bool)]
    maps = [np.round(r.random((12, 12)) + 0.5 * k, 1) for k in masks]
    assert pm.aupro(maps, masks) == pytest.approx(reference_aupro(maps, masks), abs=1e-12)


def test_regions_are_eight_connected():
    mask = np.zeros((4, 4), bool)
    mask[0, 0] = mask[1, 1] = True  # diagonal neighbours: one region
    weights, n = pm.region_weights(mask)
    assert n == 1 and weights[0, 0] == 0.5 and weights[3, 3] == 0.0


def test_pixel_degenerate_and_malformed():
    empty = [np.zeros((4, 4), bool)]
    out = pm.pixel_metrics([rng.random((4, 4))], empty)
    assert out["pixel_auroc"] is None and out["aupro"] is None and out["aupro_max_error"] is None
    assert pm.pixel_metrics([], [])["pixel_auroc"] is None
    with pytest.raises(ValueError, match="same"):
        pm.pixel_auroc([np.zeros((4, 4))], [np.zeros((5, 4), bool)])
    with pytest.raises(ValueError, match="NaN"):
        pm.pixel_auroc([np.full((4, 4), np.nan)], empty)
