"""The CLAD provider on a real ingested home, and the text map in the evidence (fused by its weight)."""

import json

import numpy as np
import pytest

from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.inspection import clad_provider, text_map
from assistant.inspection.text_spaces import text_space_for
from assistant.inspector import Inspector
from retrieval import anomaly_map
from retrieval.config import RetrievalConfig, TextMapConfig
from retrieval.text_space.clad_store import text_digest
from retrieval.text_space.defect_kinds import kind_texts


def clad_inspector(home, weight: float = 0.0) -> Inspector:
    config = NormalcyConfig(retrieval=RetrievalConfig(text_map=TextMapConfig(provider="clad", weight=weight)))
    return Inspector(config, Home(home))


@pytest.fixture()
def trainings(monkeypatch):
    """Counts the CLAD trainings (each one really runs)."""
    calls = []
    original = clad_provider.train_heads
    monkeypatch.setattr(clad_provider, "train_heads", lambda *a, **k: calls.append(a[2]) or original(*a, **k))
    return calls


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory, ready_home):
    """A copy of ready_home whose brick heads are trained and stored (once for this module)."""
    import shutil

    home = tmp_path_factory.mktemp("clad") / "home"
    shutil.copytree(ready_home.root, home)
    inspector = clad_inspector(home)
    with inspector.workspace.using_store():
        text_space_for(inspector.workspace, "brick")
    return home


def defect_image(texture_set):
    return sorted((texture_set / "test" / "defect").glob("*.png"))[0]


def test_provider_clad_trains_stores_and_names_its_provenance(trained_home):
    inspector = clad_inspector(trained_home)
    with inspector.workspace.using_store():
        space = text_space_for(inspector.workspace, "brick")
    (record,) = [json.loads(p.read_text()) for p in (trained_home / "text_heads").glob("*.json")]
    assert record["class"] == "brick" and space.id == f"clad:{record['digest']}"
    provenance = record["provenance"]
    assert provenance["image_encoder"] == inspector.workspace.encoder.id
    assert provenance["text_encoder"] == inspector.workspace.text_encoder.id
    assert provenance["recipe"] == "clad-2" and provenance["settings"]["kind_share"] == 1.0
    assert provenance["kind_texts"] == text_digest(t for group in kind_texts("brick").values() for t in group)
    assert record["training"]["last_loss"] < record["training"]["first_loss"]


def test_a_new_process_loads_the_stored_heads(trained_home, trainings, texture_set):
    inspector = clad_inspector(trained_home)
    evidence = inspector.inspect(defect_image(texture_set), "brick", log=False).evidence
    assert trainings == [] and evidence.text_space.startswith("clad:")
    assert evidence.text_grid.shape == evidence.grid.shape


def test_changed_rules_or_references_retrain(tmp_path, trained_home, trainings, texture_set):
    import shutil

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    inspector = clad_inspector(home)
    with inspector.workspace.using_store():
        before = text_space_for(inspector.workspace, "brick").id
    inspector.rule_book.add("A white efflorescence crust on the brick face is a defect.", "brick", "defect")
    with inspector.workspace.using_store():
        after_rule = text_space_for(inspector.workspace, "brick").id
    inspector.references.ingest([("brick", sorted((texture_set / "test" / "good").glob("*.png"))[0])])
    with inspector.workspace.using_store():
        after_reference = text_space_for(inspector.workspace, "brick").id
        assert text_space_for(inspector.workspace, "brick").id == after_reference      # kept, not retrained
    assert len({before, after_rule, after_reference}) == 3 and trainings == ["brick", "brick"]


def test_weight_zero_leaves_the_score_unchanged_and_shows_both_maps(trained_home, inspector, texture_set):
    path = defect_image(texture_set)
    plain = inspector.inspect(path, "brick", log=False).evidence
    shown = clad_inspector(trained_home).inspect(path, "brick", log=False).evidence
    assert shown.map_score == plain.map_score and np.array_equal(shown.grid, plain.grid)
    maps = shown.maps()
    assert set(maps) == {"fused", "few_shot", "text"}
    assert all(m.shape == shown.query.image.size[::-1] for m in maps.values())
    assert np.array_equal(maps["fused"], maps["few_shot"]) and not np.array_equal(maps["text"], maps["few_shot"])
    assert plain.text_grid is None and set(plain.maps()) == {"fused", "few_shot"}


def test_weight_above_zero_fuses_the_maps_in_threshold_units(trained_home, inspector, texture_set):
    path = defect_image(texture_set)
    plain = inspector.inspect(path, "brick", log=False).evidence
    fused = clad_inspector(trained_home, weight=0.5).inspect(path, "brick", log=False).evidence
    expected = 0.5 * plain.grid + 0.5 * plain.threshold * fused.text_grid
    assert np.allclose(fused.grid, expected, rtol=1e-5)
    assert np.array_equal(fused.few_shot_grid, plain.grid)
    score = anomaly_map.image_score(expected, inspector.config.retrieval.map.top_fraction)
    assert fused.map_score == pytest.approx(score, rel=1e-5) and fused.map_score != plain.map_score


def test_the_text_map_is_the_abnormal_probability_over_even_odds(trained_home, texture_set):
    inspector = clad_inspector(trained_home)
    evidence = inspector.inspect(defect_image(texture_set), "brick", log=False).evidence
    assert evidence.text_grid.min() >= 0 and evidence.text_grid.max() <= 1 / text_map.EVEN_ODDS + 1e-6


def test_each_map_is_drawn_and_named_on_its_overlay(trained_home, inspector, texture_set):
    path = defect_image(texture_set)
    plain = inspector.inspect(path, "brick", log=False).evidence
    fused = clad_inspector(trained_home, weight=0.5).inspect(path, "brick", log=False).evidence
    assert plain.map_caption() == "few-shot map"
    assert fused.map_caption() == "fused: few-shot + CLAD text map (w=0.5)"
    assert fused.map_caption("text") == "CLAD text map" and fused.map_caption("few_shot") == "few-shot map"
    drawn = {which: np.asarray(fused.overlay("heatmap", which)) for which in fused.maps()}
    query = np.asarray(fused.query.image.convert("RGB"))
    assert all(d.shape == query.shape and (d[1, 1] == 0).all() for d in drawn.values())   # the black caption
    below = slice(query.shape[0] // 2, None)                                            # under the caption
    assert not np.array_equal(drawn["text"][below], drawn["few_shot"][below])
    assert not np.array_equal(drawn["fused"][below], drawn["few_shot"][below])
    with pytest.raises(ValueError, match="text"):
        plain.overlay("all", "text")


def _inside(box, outer) -> bool:
    return outer[0] <= box[0] and outer[1] <= box[1] and box[2] <= outer[2] and box[3] <= outer[3]


def test_rules_are_grounded_where_their_text_matches_the_part(trained_home, inspector, texture_set):
    from assistant.inspection.rule_grounding import rule_regions

    clad = clad_inspector(trained_home)
    inspection = clad.inspect(defect_image(texture_set), "brick", log=False)
    evidence = inspection.evidence
    rules = [r.rule for r in evidence.rules]
    regions = rule_regions(clad.workspace, evidence, rules)
    assert set(regions) == {r.id for r in rules}
    cell = (evidence.query.size[0] / evidence.grid.shape[1], evidence.query.size[1] / evidence.grid.shape[0])
    for found in regions.values():                    # one cell of the grid (rounded out to whole pixels)
        x0, y0, x1, y1 = found.box
        assert 0 <= x0 < x1 <= evidence.query.size[0] and x1 - x0 <= cell[0] + 2 and y1 - y0 <= cell[1] + 2
        assert -1 <= found.cosine <= 1
    scratch, missing = regions["brick-defect-scratch"], regions["brick-defect-missing_patch"]
    assert _inside(scratch.box, evidence.defect_box)                                  # on the scratch
    assert scratch.cosine > missing.cosine + 0.2, "the heads tell kinds apart: this defect is a scratch"
    assert not _inside(regions["brick-normality-surface"].box, evidence.defect_box)  # a normal brick face
    said = "".join(clad.ask(inspection, "which rule applies?"))
    assert "Its text matches the part best at x " in said and "CLAD text space" in said
    plain = inspector.inspect(defect_image(texture_set), "brick", log=False)
    assert rule_regions(inspector.workspace, plain.evidence, rules) == {}
    assert "matches the part best" not in "".join(inspector.ask(plain, "which rule applies?"))


def test_an_overlay_without_a_text_map_has_no_caption(inspector, texture_set):
    """One map only: nothing to tell apart, so the overlay is the plain render (no label over the part)."""
    from retrieval.overlay import render

    defect = sorted((texture_set / "test" / "defect").glob("*.png"))[0]
    evidence = inspector.gather(inspector.load(defect), "brick")
    plain = render(evidence.query.image, evidence.score_map, evidence.defect_box, "all")
    assert evidence.text_grid is None
    assert np.array_equal(np.asarray(evidence.overlay("all")), np.asarray(plain))


def test_the_clad_map_takes_no_references(trained_home, texture_set):
    """The references an inspection passes join a CLIP map only: CLAD's map is the one made without them."""
    inspector = clad_inspector(trained_home)
    evidence = inspector.inspect(defect_image(texture_set), "brick", log=False).evidence
    ws = inspector.workspace
    features = inspector.scorer.featurize([evidence.query.image])[0][0]
    with ws.using_store():
        plain, space = text_map.text_map(ws, "brick", evidence.query.image, features, evidence.grid.shape)
        given, _ = text_map.text_map(ws, "brick", evidence.query.image, features, evidence.grid.shape,
                                     evidence.references)
    assert np.array_equal(given, plain) and np.array_equal(evidence.text_grid, plain.astype(np.float32))
    assert space == evidence.text_space and not list((trained_home / "features").glob("clip"))
