"""Normalities added by text in the evidence (NAND) over a real home and the real encoders: A' = A * (1 - A_sup)
with A_sup from the class's text space (the added phrases against the normal prompts and the other defects,
at the normality temperature), several normalities multiplying, and exact rollback on removal.
The text space is the projected test space (tests/projected_text_space.py), registered as provider "clad"."""

import numpy as np
import pytest
from projected_text_space import install, text_map_config

from assistant.home import Home
from assistant.inspection import text_spaces
from assistant.inspector import Inspector
from retrieval.anomaly_map import image_score, upsample
from assistant.inspection.class_texts import state_texts
from retrieval.text_space.defect_kinds import other_defects
from retrieval.text_space.normality_phrases import appearance, normal_prompts
from retrieval.text_space.space import contrast_map

LINES = "thin dark lines along the mortar are normal"


@pytest.fixture
def spaces(monkeypatch):
    return install(monkeypatch)


@pytest.fixture
def nand(home_copy, spaces):
    return Inspector(text_map_config(), Home(home_copy))


@pytest.fixture
def defect(texture_set):
    return sorted((texture_set / "test" / "defect").glob("*.png"))[0]


def _expected_suppression(inspector, image, normality, shape):
    """A_sup computed here from the space's contract, independently of normality_evidence."""
    space = text_spaces.text_space_for(inspector.workspace, "brick")
    with inspector.workspace.using_store():
        defects = state_texts(inspector.workspace, "brick").abnormal
    others = [space.text_embeddings(list(t)) for t in other_defects(appearance(normality.text), "brick", defects)]
    sup = contrast_map(space.patch_embeddings(image), space.text_embeddings(list(normal_prompts("brick"))),
                       space.text_embeddings(list(normality.phrases)), others,
                       inspector.config.retrieval.text_map.normality_temperature)
    assert sup.shape != shape, "the test space's grid is coarser: the map must be resized onto the few-shot grid"
    return upsample(sup, *shape)


def test_the_map_is_suppressed_where_the_normality_applies(nand, defect):
    before = nand.gather(defect, "brick")
    normality = nand.normalities.add(LINES, "brick", "tester").normality
    after = nand.gather(defect, "brick")
    sup = _expected_suppression(nand, before.query.image, normality, before.grid.shape)
    assert np.allclose(after.grid, before.grid * (1 - sup), atol=1e-5)
    top = nand.config.retrieval.map.top_fraction
    assert after.map_score == pytest.approx(image_score(before.grid * (1 - sup), top), rel=1e-5)
    assert after.map_score < before.map_score and (after.grid <= before.grid + 1e-6).all()
    assert after.threshold == before.threshold, "calibration is of the references, not suppressed"


def test_two_normalities_suppress_in_turn(nand, defect):
    before = nand.gather(defect, "brick")
    first = nand.normalities.add(LINES, "brick", "tester").normality
    second = nand.normalities.add("a faint stain: ok", "brick", "tester").normality
    after = nand.gather(defect, "brick")
    image, shape = before.query.image, before.grid.shape
    product = (1 - _expected_suppression(nand, image, first, shape)) * \
        (1 - _expected_suppression(nand, image, second, shape))
    assert np.allclose(after.grid, before.grid * product, atol=1e-5)
    assert [n.version for n in nand.normalities.list("brick")] == [1, 2]


def test_the_suppression_is_at_the_normality_temperature(home_copy, spaces, defect):
    """Not the text map's: a warmer normality temperature suppresses by other amounts."""
    grids = []
    for temperature in (0.07, 1.0):
        inspector = Inspector(text_map_config(temperature=0.07, normality_temperature=temperature), Home(home_copy))
        before = inspector.gather(defect, "brick")
        normality = inspector.normalities.add(LINES, "brick", "tester").normality
        after = inspector.gather(defect, "brick")
        sup = _expected_suppression(inspector, before.query.image, normality, before.grid.shape)
        assert np.allclose(after.grid, before.grid * (1 - sup), atol=1e-5)
        inspector.normalities.remove(normality.id, "tester")
        grids.append(after.grid)
    assert not np.allclose(grids[0], grids[1])


def test_removing_a_normality_restores_the_scores_exactly(nand, defect, texture_set):
    good = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    before = {p: nand.gather(p, "brick") for p in (defect, good)}
    first = nand.normalities.add(LINES, "brick", "tester").normality
    second = nand.normalities.add("small chips in the brick edges are acceptable", "brick", "tester").normality
    assert all(nand.gather(p, "brick").map_score < e.map_score for p, e in before.items())
    nand.normalities.remove(first.id, "tester")
    nand.normalities.remove(second.id, "tester")
    for path, evidence in before.items():
        again = nand.gather(path, "brick")
        assert np.array_equal(again.grid, evidence.grid) and again.anomaly_score == evidence.anomaly_score
    assert not {first.id, second.id} & {r.id for r in nand.rule_book.list("brick")}


def test_a_class_without_normalities_is_not_suppressed(nand, defect):
    """The text map is shown beside the few-shot map (weight 0), and nothing is suppressed."""
    evidence = nand.gather(defect, "brick")
    assert evidence.text_grid is not None and nand.config.retrieval.text_map.weight == 0
    assert np.array_equal(evidence.grid, evidence.few_shot_grid)


def test_each_normality_is_an_accepted_noise_rule_and_its_history_is_logged(nand):
    normality = nand.normalities.add(f"  {LINES}  ", "brick", "alice").normality
    assert normality.text == LINES and normality.who == "alice" and normality.class_name == "brick"
    assert "thin dark lines along the mortar" in normality.phrases[0] and LINES in normality.phrases
    rule = next(r for r in nand.rule_book.list("brick") if r.id == normality.id)
    assert (rule.kind, rule.text) == ("accepted_noise", LINES)
    nand.normalities.remove(normality.id, "bob")
    logged = [(r["kind"], r["who"], r["id"]) for r in nand.log.records() if r["kind"].startswith("normality")]
    assert logged == [("normality_added", "alice", normality.id), ("normality_removed", "bob", normality.id)]
