"""`ingest --rebuild` is transactional: validated first, built beside the old store, swapped in at the
end. Before, one corrupt file emptied the store (24 references -> 0, calibration deleted) while the CLI
printed "nothing was ingested"."""

import json
import shutil

import pytest
from cli_runner import run_cli

from assistant.config import NormalcyConfig
from assistant.inspector import Inspector
from assistant.records import ingestion
from retrieval.errors import BadInput


@pytest.fixture
def home_copy(ready_home, tmp_path):
    from assistant.home import Home

    shutil.copytree(ready_home.root, tmp_path / "home")
    return Home(tmp_path / "home")


def _state(home) -> tuple[dict, str]:
    return Inspector(NormalcyConfig(), home).classes(), home.calibration.read_text()


def test_a_corrupt_file_leaves_the_old_store_and_calibration(home_copy, texture_set, tmp_path):
    before = _state(home_copy)
    folder = tmp_path / "new_refs"
    shutil.copytree(texture_set / "train", folder)
    (folder / "zz_truncated.png").write_bytes((folder / sorted(p.name for p in folder.iterdir())[0]).read_bytes()[:80])
    result = run_cli("--home", str(home_copy.root), "ingest", str(folder), "--class", "brick", "--rebuild")
    assert result.returncode == 2 and "zz_truncated.png" in result.stderr
    assert _state(home_copy) == before


def test_an_interrupted_rebuild_leaves_the_old_store(home_copy, texture_set, monkeypatch):
    before = _state(home_copy)
    inspector = Inspector(NormalcyConfig(), home_copy)
    items = [("wall", p) for p in sorted((texture_set / "train").glob("*.png"))]
    real_commit, calls = ingestion._commit, []

    def commit_then_fail(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_commit(*args)

    monkeypatch.setattr(ingestion, "_commit", commit_then_fail)
    with pytest.raises(KeyboardInterrupt):
        inspector.references.ingest(items, rebuild=True, batch_size=4)
    assert _state(home_copy) == before
    monkeypatch.setattr(ingestion, "_commit", real_commit)
    report = Inspector(NormalcyConfig(), home_copy).references.ingest(items, rebuild=True, batch_size=4)
    assert report.added == {"wall": len(items)}                  # the leftover half-build is not reused
    classes, calibration = _state(home_copy)
    assert classes == {"wall": len(items)} and set(json.loads(calibration)) == {"wall"}


def test_a_rebuild_with_nothing_valid_is_refused(home_copy, tmp_path):
    before = _state(home_copy)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.png").write_bytes(b"not a png")
    with pytest.raises(BadInput, match="nothing was ingested"):
        Inspector(NormalcyConfig(), home_copy).references.ingest([("brick", tmp_path / "bad" / "a.png")],
                                                                rebuild=True)
    assert _state(home_copy) == before
