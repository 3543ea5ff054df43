"""The class PCA basis in a real home (issue 14, `retrieval.features.pca`): fitted at the class's first
ingest of enough references, before any of them is stored, so every file of the class is on it; a class
that starts with too few keeps the encoder's channels until an ingest brings enough (and keeps that basis
until it has twice the references it was fitted on); turning pca on for
a home built without it fits the basis from the stored copies when the features are recomputed; and
the map barely moves against the unprojected features."""

import json
import struct

import numpy as np

from assistant.config import NormalcyConfig, from_dict
from assistant.home import Home
from assistant.inspector import Inspector
from assistant.records.ingestion import images_in
from feature_files import feature_files


def _header(path) -> dict:
    data = path.read_bytes()
    return json.loads(data[9:9 + struct.unpack("<I", data[5:9])[0]])


def _pointers(home) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((home / "features").glob("*/bases/*.json"))]


def test_every_reference_of_a_class_ingested_at_once_is_stored_on_its_basis(ready_home):
    pointers = _pointers(ready_home.root)
    assert [(p["class"], p["fitted_on"]) for p in pointers] == [("brick", 14)]
    headers = [_header(path) for path in feature_files(ready_home.root)]
    assert len(headers) == 14 and {h.get("basis") for h in headers} == {pointers[0]["basis"]}
    assert {(h["c"], h["d"]) for h in headers} == {(152, 64)}


def test_a_class_started_small_gets_its_basis_when_enough_references_are_in(tmp_path, texture_set):
    home = Home(tmp_path / "home")
    paths = images_in(texture_set / "train")
    inspector = Inspector(NormalcyConfig(), home)
    inspector.references.ingest([("brick", p) for p in paths[:3]])
    assert _pointers(home.root) == [] and all("basis" not in _header(f) for f in feature_files(home.root))
    inspector.references.ingest([("brick", p) for p in paths[3:9]])
    assert [p["fitted_on"] for p in _pointers(home.root)] == [9]           # 6 new + 3 stored, from their copies
    headers = [_header(f) for f in feature_files(home.root)]
    assert sum("basis" in h for h in headers) == 6 and len(headers) == 9   # the first 3 stay as they were
    inspector.references.ingest([("brick", p) for p in paths[9:13]])
    assert [p["fitted_on"] for p in _pointers(home.root)] == [9]           # 13 < twice 9: the basis is kept
    kept = _pointers(home.root)[0]["basis"]
    assert {_header(f).get("basis", kept) for f in feature_files(home.root)} == {kept}
    assert sum("basis" in _header(f) for f in feature_files(home.root)) >= 6    # + those it represents
    evidence = inspector.gather(inspector.load(paths[13]), "brick")
    assert np.isfinite(evidence.score_map).all()


def test_pca_turned_on_later_fits_from_the_copies_and_keeps_the_map(tmp_path, texture_set):
    plain_config = from_dict(NormalcyConfig, {"retrieval": {"features": {"pca": 0}}})
    home = Home(tmp_path / "home")
    Inspector(plain_config, home).references.ingest([("brick", p) for p in images_in(texture_set / "train")])
    assert _pointers(home.root) == []
    defects = sorted((texture_set / "test" / "defect").glob("*.png"))
    plain = Inspector(plain_config, home)
    projected = Inspector(NormalcyConfig(), home)
    for path in defects[:3]:
        before = plain.gather(plain.load(path), "brick").grid
        after = projected.gather(projected.load(path), "brick").grid
        assert np.corrcoef(before.ravel(), after.ravel())[0, 1] > 0.95
        assert np.unravel_index(before.argmax(), before.shape) == np.unravel_index(after.argmax(), after.shape)
    assert [(p["class"], p["fitted_on"]) for p in _pointers(home.root)] == [("brick", 14)]


def test_a_class_that_doubles_gets_a_new_basis_and_old_files_keep_theirs(tmp_path, texture_set):
    from PIL import Image, ImageOps

    extra = tmp_path / "more"
    extra.mkdir()
    for i, path in enumerate(images_in(texture_set / "train")[:9]):   # 9 more normal tiles: mirrored ones
        ImageOps.mirror(Image.open(path)).save(extra / f"more_{i}.png")
    home = Home(tmp_path / "home")
    inspector = Inspector(NormalcyConfig(), home)
    inspector.references.ingest([("brick", p) for p in images_in(texture_set / "train")[:9]])
    first = _pointers(home.root)[0]
    inspector.references.ingest([("brick", p) for p in images_in(extra)])
    second = _pointers(home.root)[0]
    assert (first["fitted_on"], second["fitted_on"]) == (9, 18) and first["basis"] != second["basis"]
    counts = {}
    for path in feature_files(home.root):
        counts[_header(path)["basis"]] = counts.get(_header(path)["basis"], 0) + 1
    assert counts == {first["basis"]: 9, second["basis"]: 9}
    assert np.isfinite(inspector.gather(inspector.load(images_in(texture_set / "train")[12]), "brick").score_map).all()
