"""The class threshold follows the store's per-class version: recomputed exactly when its class was
written (by this process or another), never on reads or on writes to other classes; a recalibration
rescores only the references whose neighbours changed, and gives what a full one gives."""

import json
from dataclasses import replace

import pytest

from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.inspector import Inspector
from assistant.records.ingestion import images_in


def _inspector(tmp_path, k=8):
    config = NormalcyConfig()
    config = replace(config, retrieval=replace(config.retrieval, map=replace(config.retrieval.map, k=k)))
    return Inspector(config, Home(tmp_path / "home"))


@pytest.fixture
def recalibrations(monkeypatch):
    def watch(inspector):
        thresholds, calls = inspector.thresholds, []
        real = thresholds.recalibrate
        monkeypatch.setattr(thresholds, "recalibrate", lambda name, fp=None: calls.append(name) or real(name, fp))
        return calls
    return watch


def test_recalibration_happens_exactly_when_the_class_changes(tmp_path, texture_set, recalibrations):
    inspector = _inspector(tmp_path)
    files = images_in(texture_set / "train")
    inspector.references.ingest([("brick", p) for p in files[:8]] + [("tile", p) for p in files[8:11]])
    calls = recalibrations(inspector)
    image = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    inspector.inspect(image, "brick", log=False)
    inspector.inspect(image, "brick", log=False)
    assert calls == []                                       # reads never recalibrate
    inspector.references.ingest([("tile", files[11])])
    assert calls == ["tile"]                                 # the written class, by the ingest itself
    inspector.inspect(image, "brick", log=False)
    assert calls == ["tile"]                                 # another class's write leaves brick current
    other = _inspector(tmp_path).workspace                   # another writer, without recalibrating
    with other.using_store():
        other.references.remove([other.references.of_class("brick")[0]])
        other.changed()
    inspector.inspect(image, "brick", log=False)
    assert calls == ["tile", "brick"]
    inspector.inspect(image, "brick", log=False)
    assert calls == ["tile", "brick"]


def test_an_incremental_recalibration_equals_a_full_one(tmp_path, texture_set):
    inspector = _inspector(tmp_path, k=2)
    files = images_in(texture_set / "train")
    inspector.references.ingest([("brick", p) for p in files[:12]])
    thresholds = inspector.thresholds
    inspector.references.ingest([("brick", files[12])])
    incremental, reused = thresholds.current("brick"), thresholds.reused
    assert 0 < reused < incremental.n_scored                 # some neighbours changed, not all
    thresholds.scores.path("brick").unlink()
    full = thresholds.recalibrate("brick")
    assert thresholds.reused == 0
    assert (full.threshold, full.mean, full.n_scored) == pytest.approx(
        (incremental.threshold, incremental.mean, incremental.n_scored))


def test_a_hand_edited_calibration_reuses_no_score(tmp_path, texture_set):
    inspector = _inspector(tmp_path)
    inspector.references.ingest([("brick", p) for p in images_in(texture_set / "train")[:6]])
    path = tmp_path / "home" / "calibration.json"
    data = json.loads(path.read_text())
    data["brick"]["threshold"] *= 10
    path.write_text(json.dumps(data))
    fresh = inspector.thresholds.current("brick")
    assert inspector.thresholds.reused == 0 and fresh.usable()
