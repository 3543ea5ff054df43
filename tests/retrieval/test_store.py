"""Reference store on Chroma: idempotent ingest, resumable ingest, refusal of a foreign encoder,
nothing half-written on bad input, recalibration when references change."""

import shutil

import pytest

from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.records.ingestion import images_in
from assistant.inspector import Inspector
from retrieval.errors import BadInput, EncoderMismatch, UnknownClass


def _inspector(tmp_path):
    return Inspector(NormalcyConfig(), Home(tmp_path / "home"))


def _items(folder, class_name="brick"):
    return [(class_name, p) for p in images_in(folder)]


def test_reingest_is_a_no_op(tmp_path, texture_set):
    inspector = _inspector(tmp_path)
    first = inspector.references.ingest(_items(texture_set / "train"))
    again = inspector.references.ingest(_items(texture_set / "train"))
    assert first.added == {"brick": 14} and again.added == {} and again.skipped == {"brick": 14}
    assert inspector.classes() == {"brick": 14}
    record = inspector.workspace.references.of_class("brick")[0]
    assert len(record.sha256) == 64 and record.width == 96 and record.path.endswith(".png")


def test_interrupted_ingest_keeps_finished_batches_and_resumes(tmp_path, texture_set, monkeypatch):
    import assistant.records.ingestion as module

    inspector = _inspector(tmp_path)
    real_commit, calls = module._commit, []

    def commit_then_die(*args):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        real_commit(*args)

    monkeypatch.setattr(module, "_commit", commit_then_die)
    with pytest.raises(KeyboardInterrupt):
        inspector.references.ingest(_items(texture_set / "train"), batch_size=4)
    assert inspector.classes() == {"brick": 4}
    monkeypatch.setattr(module, "_commit", real_commit)
    report = inspector.references.ingest(_items(texture_set / "train"), batch_size=4)
    assert report.added == {"brick": 10} and report.skipped == {"brick": 4}
    assert inspector.classes() == {"brick": 14}


def test_a_bad_file_stops_the_ingest_before_anything_is_written(tmp_path, texture_set):
    folder = tmp_path / "refs"
    shutil.copytree(texture_set / "train", folder)
    (folder / "zz_broken.png").write_bytes(b"not an image at all")
    inspector = _inspector(tmp_path)
    with pytest.raises(BadInput, match="zz_broken.png.*nothing was ingested"):
        inspector.references.ingest(_items(folder))
    assert inspector.classes() == {}
    report = inspector.references.ingest(_items(folder), skip_bad=True)
    assert report.added == {"brick": 14} and len(report.rejected) == 1


def test_a_store_built_with_another_encoder_is_refused(tmp_path, texture_set):
    from retrieval.reference_store import ReferenceStore

    inspector = _inspector(tmp_path)
    inspector.references.ingest(_items(texture_set / "train"))
    with pytest.raises(EncoderMismatch, match="rebuild it with `normalcy ingest .* --rebuild`"):
        ReferenceStore(inspector.workspace.client, "open_clip:ViT-B-32@0123456789ab")


def test_unknown_class_and_empty_store_say_what_to_do(tmp_path, texture_set):
    from retrieval.errors import EmptyStore

    inspector = _inspector(tmp_path)
    image = sorted((texture_set / "test" / "good").glob("*.png"))[0]
    with pytest.raises(EmptyStore, match="normalcy ingest DIR --class NAME"):
        inspector.inspect(image, "brick")
    inspector.references.ingest(_items(texture_set / "train"))
    with pytest.raises(UnknownClass, match="known classes: brick"):
        inspector.inspect(image, "bottle")


def test_calibration_uses_normals_only_and_follows_reference_changes(tmp_path, texture_set):
    inspector = _inspector(tmp_path)
    files = images_in(texture_set / "train")
    inspector.references.ingest([("brick", p) for p in files[:8]])
    calibrator = inspector.thresholds
    first = calibrator.current("brick")
    assert first.n_references == 8 and first.n_scored == 8 and first.threshold > first.mean > 0
    assert calibrator.current("brick") == first                     # stored, not recomputed
    inspector.references.ingest([("brick", p) for p in files[8:]])
    second = calibrator.current("brick")
    assert second.n_references == 14 and second.fingerprint != first.fingerprint
