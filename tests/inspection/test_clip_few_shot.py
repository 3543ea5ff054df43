"""The CLIP text map with its few-shot half (WinCLIP+): the zero-shot map combined with the CLIP patch memory
of the references the inspection retrieved, read from the home's patch cache — on the tiny random
ViT-B-16 and a real ingested home."""

import shutil

import numpy as np
import pytest
from tiny_clip_factory import build_open_clip

from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.inspection import clip_few_shot, text_map
from assistant.inspection.class_texts import state_texts
from assistant.inspection.reference_copies import ReferenceCopies
from assistant.inspection.text_spaces import text_space_for
from assistant.inspector import Inspector
from retrieval import anomaly_map
from retrieval.config import RetrievalConfig, TextMapConfig
from retrieval.errors import MissingWeights
from retrieval.text_space.clip_maps import zero_shot_map


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    return build_open_clip(tmp_path_factory.mktemp("clip") / "ViT-B-16-tiny")


@pytest.fixture()
def home(tmp_path, ready_home):
    """A private copy of ready_home (the patch cache is written into it)."""
    shutil.copytree(ready_home.root, tmp_path / "home")
    return tmp_path / "home"


def clip_inspector(home, clip_folder, weight: float = 0.0) -> Inspector:
    text = TextMapConfig(provider="clip", path=str(clip_folder), weight=weight)
    return Inspector(NormalcyConfig(retrieval=RetrievalConfig(text_map=text)), Home(home))


def counted_space(inspector, monkeypatch) -> list:
    """Counts the CLIP forwards of the workspace's space (each one really runs)."""
    with inspector.workspace.using_store():
        space = text_space_for(inspector.workspace, "brick")
    calls = []
    original = space.patch_embeddings
    monkeypatch.setattr(space, "patch_embeddings", lambda image: calls.append(image.size) or original(image))
    return calls


def gathered(inspector, path):
    return inspector.gather(inspector.load(path), "brick")


def train(texture_set, i=0):
    return sorted((texture_set / "train").glob("*.png"))[i]


def defect(texture_set):
    return sorted((texture_set / "test" / "defect").glob("*.png"))[0]


def parts(inspector, evidence):
    """(zero-shot map / 0.5, few-shot units) of an evidence's query on the CLIP grid, recomputed."""
    ws = inspector.workspace
    with ws.using_store():
        space = text_space_for(ws, "brick")
        texts = state_texts(ws, "brick")
        patches = space.patch_embeddings(evidence.query.image)
        zero = zero_shot_map(space, patches, texts.normal, texts.abnormal, ws.config.retrieval.text_map.temperature)
        return zero / text_map.EVEN_ODDS, clip_few_shot.few_shot_units(ws, space, patches, evidence.references)


def test_the_text_map_is_the_mean_of_the_zero_shot_and_few_shot_maps(home, clip_folder, texture_set):
    inspector = clip_inspector(home, clip_folder)
    evidence = gathered(inspector, defect(texture_set))
    zero, few = parts(inspector, evidence)
    assert few.shape == zero.shape == (14, 14) and few.max() > 0.1
    expected = anomaly_map.upsample(0.5 * zero + 0.5 * few, *evidence.grid.shape)
    assert np.allclose(evidence.text_grid, expected, atol=1e-5)
    assert evidence.text_provider == "clip" and evidence.text_space.startswith("clip:ViT-B-16-tiny@")


def test_the_few_shot_part_is_zero_where_the_query_is_one_of_its_references(home, clip_folder, texture_set):
    inspector = clip_inspector(home, clip_folder)
    seen = gathered(inspector, train(texture_set))
    assert seen.query.sha256 in {r.sha256 for r in seen.references}
    zero, few = parts(inspector, seen)
    assert np.abs(few).max() < 1e-5                                 # float32 rounding of cos = 1
    assert np.allclose(seen.text_grid, anomaly_map.upsample(0.5 * zero, *seen.grid.shape), atol=1e-5)
    unseen = parts(inspector, gathered(inspector, defect(texture_set)))[1]
    assert unseen.min() > few.max()


def test_a_second_inspection_embeds_only_the_query(home, clip_folder, texture_set, monkeypatch):
    first = clip_inspector(home, clip_folder)
    calls = counted_space(first, monkeypatch)
    cold = gathered(first, defect(texture_set))
    assert len(calls) == 1 + len(cold.references) and len(cold.references) >= 2
    warm = gathered(first, defect(texture_set))
    assert len(calls) == 2 + len(cold.references)                  # the query only
    assert np.array_equal(warm.text_grid, cold.text_grid)        # the cached patches are the ones used cold
    again = clip_inspector(home, clip_folder)                     # a new process: read from the home
    calls_again = counted_space(again, monkeypatch)
    assert np.array_equal(gathered(again, defect(texture_set)).text_grid, cold.text_grid)
    assert len(calls_again) == 1
    stored = list((home / "features" / "clip").rglob("*.npy"))
    assert len(stored) == len(cold.references) and all(np.load(p).dtype == np.float16 for p in stored)


@pytest.mark.parametrize("damage", ["garbage", "wrong shape", "not finite"])
def test_a_damaged_cache_file_is_recomputed(home, clip_folder, texture_set, monkeypatch, damage):
    inspector = clip_inspector(home, clip_folder)
    calls = counted_space(inspector, monkeypatch)
    before = gathered(inspector, defect(texture_set))
    with inspector.workspace.using_store():
        cache = clip_few_shot.patch_cache(inspector.workspace, text_space_for(inspector.workspace, "brick"))
    path = cache.path(before.references[0].sha256)
    good = np.load(path)
    if damage == "garbage":
        path.write_bytes(b"\x93NUMPY not really")
    else:
        np.save(path, good[:3] if damage == "wrong shape" else np.full_like(good, np.nan))
    after = gathered(inspector, defect(texture_set))
    assert len(calls) == 1 + len(before.references) + 2           # the query and the damaged reference
    assert np.array_equal(after.text_grid, before.text_grid) and np.array_equal(np.load(path), good)


def test_a_reference_whose_copy_is_gone_is_one_line(home, clip_folder, texture_set):
    inspector = clip_inspector(home, clip_folder)
    first = gathered(inspector, defect(texture_set))
    gone = first.references[0]
    with inspector.workspace.using_store():
        cache = clip_few_shot.patch_cache(inspector.workspace, text_space_for(inspector.workspace, "brick"))
    cache.path(gone.sha256).unlink()
    ReferenceCopies(Home(home).references).find(gone.sha256).unlink()
    with pytest.raises(MissingWeights) as missing:
        gathered(inspector, defect(texture_set))
    line = str(missing.value)
    assert "\n" not in line and gone.path in line and "re-ingest class brick" in line


def test_fused_the_calibration_builds_the_same_map_and_fills_the_cache(home, clip_folder, texture_set, monkeypatch):
    inspector = clip_inspector(home, clip_folder, weight=0.5)
    with inspector.workspace.using_store():
        calibration = inspector.thresholds.current("brick")       # the fused leave-one-out pass
    assert "|few=" in calibration.settings and calibration.threshold != calibration.scale
    calls = counted_space(inspector, monkeypatch)
    evidence = gathered(inspector, defect(texture_set))
    assert len(calls) == 1                                        # every neighbour was embedded by the calibration
    expected = 0.5 * evidence.few_shot_grid + 0.5 * calibration.scale * evidence.text_grid
    assert np.allclose(evidence.grid, expected, rtol=1e-5) and evidence.threshold == calibration.threshold


def test_without_references_the_clip_map_is_the_zero_shot_map(home, clip_folder, texture_set):
    inspector = clip_inspector(home, clip_folder)
    evidence = gathered(inspector, defect(texture_set))
    ws = inspector.workspace
    features = inspector.scorer.featurize([evidence.query.image])[0][0]
    with ws.using_store():
        plain, _ = text_map.text_map(ws, "brick", evidence.query.image, features, evidence.grid.shape)
    zero, _ = parts(inspector, evidence)
    assert np.allclose(plain, anomaly_map.upsample(zero, *evidence.grid.shape), atol=1e-5)
    assert not np.allclose(plain, evidence.text_grid, atol=1e-3)


def test_the_combination_is_in_anomaly_score_units():
    certain, unseen = np.full((2, 2), 2.0), np.zeros((2, 2))      # p = 1 over even odds; a patch of the memory
    assert np.allclose(text_map.combined(certain, unseen), 1.0)    # one map at 2, the other at 0: the level
    assert np.allclose(text_map.combined(np.ones((2, 2)), np.ones((2, 2))), 1.0)   # both at the level
    assert text_map.combined(np.zeros(1), np.array([3.0]))[0] == pytest.approx(1.5)
