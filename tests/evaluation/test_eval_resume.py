"""An interrupted `normalcy eval` continues where it stopped: cached verdicts are not recomputed, and the
final metrics equal those of an uninterrupted run. Plus: the kept maps are the evidence's score maps."""

import json

import numpy as np
import pytest
from eval_datasets import write_mvtec

from assistant.evaluation.result_cache import ResultCache, file_sha256
from ui.cli import main

INTERRUPT_AFTER = 2


@pytest.fixture(scope="module")
def mvtec(tmp_path_factory):
    return write_mvtec(tmp_path_factory.mktemp("eval_resume") / "mvtec", classes=("brick",))


@pytest.fixture(scope="module")
def straight(mvtec, tmp_path_factory):
    """An uninterrupted run."""
    out = tmp_path_factory.mktemp("eval_straight") / "out"
    assert _run(mvtec, out) == 0
    return out


def _run(mvtec, out) -> int:
    return main(["eval", str(mvtec), "--layout", "mvtec", "--out", str(out)])


def _metrics(out) -> dict:
    return json.loads((out / "metrics.json").read_text())


def test_interrupted_run_resumes_without_recomputing(mvtec, straight, tmp_path, monkeypatch):
    real_append, written = ResultCache.append, []

    def interrupting(cache, entry):
        if len(written) == INTERRUPT_AFTER:
            raise KeyboardInterrupt
        written.append(entry["key"])
        real_append(cache, entry)

    monkeypatch.setattr(ResultCache, "append", interrupting)
    out = tmp_path / "resumed"
    assert _run(mvtec, out) == 130                                     # interrupted, work kept
    results = out / "results.jsonl"
    assert len(results.read_text().splitlines()) == INTERRUPT_AFTER and not (out / "metrics.json").exists()
    with results.open("a") as fh:
        fh.write('{"key": "killed mid-wri')                            # and a truncated last line

    resumed = []
    monkeypatch.setattr(ResultCache, "append", lambda cache, entry: (resumed.append(entry["key"]),
                                                                      real_append(cache, entry)))
    assert _run(mvtec, out) == 0
    assert len(resumed) == 4 - INTERRUPT_AFTER and not set(resumed) & set(written)
    keys = [json.loads(line)["key"] for line in results.read_text().splitlines()]
    assert keys == written + resumed
    assert _metrics(out) == _metrics(straight)


def test_kept_maps_are_the_evidence_score_maps(mvtec, straight):
    from assistant.config import NormalcyConfig
    from assistant.evaluation.kept_maps import MapCache
    from assistant.home import Home
    from assistant.inspector import Inspector

    out = straight
    config = _metrics(out)["config"]["result_config_hashes"]["brick"]["evidence"]
    image = sorted((mvtec / "brick" / "test").glob("[!g]*/*.png"))[0]
    inspector = Inspector(NormalcyConfig(), Home(out / "home"))
    evidence = inspector.gatherer.gather(inspector.load(image), "brick", with_rules=False)
    height, width = evidence.score_map.shape
    kept = MapCache(out / "maps").at_size(config, file_sha256(image), height, width)
    np.testing.assert_allclose(kept, evidence.score_map, rtol=1e-6, atol=1e-6)
