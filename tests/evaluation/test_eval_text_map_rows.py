"""`normalcy eval` with a text map (the real CLAD provider, trained on the fly): the report gains the rows
few-shot alone / text map alone / fused per class, from the maps of the same run; without a text map they are
absent. The figures are checked against the AUROCs of the kept maps, and a resumed run gives the same block."""

import json

import numpy as np
import pytest
from eval_datasets import write_mvtec

from assistant.evaluation.dataset import load_dataset
from assistant.evaluation.metrics import auroc
from retrieval import anomaly_map
from retrieval.config import RetrievalConfig
from ui.cli import main

WEIGHT = 0.5


@pytest.fixture(scope="module")
def mvtec(tmp_path_factory):
    return write_mvtec(tmp_path_factory.mktemp("eval_text") / "mvtec", classes=("brick",), n_good=3, n_defect=3)


def _config(tmp_path, provider="clad"):
    path = tmp_path / "text_map.yaml"
    path.write_text(f"retrieval:\n  text_map:\n    provider: {provider}\n    weight: {WEIGHT}\n"
                    "    temperature: 1.0\n")
    return path


def _run(mvtec, out, config):
    return main(["--config", str(config), "eval", str(mvtec), "--layout", "mvtec", "--out", str(out)])


def _kept_aurocs(out, samples, block_hash, top):
    """Image AUROC of each kept source, recomputed from DIR/maps/HASH/SHA.sources.npy."""
    from assistant.evaluation.result_cache import file_sha256

    stacks = [np.load(out / "maps" / block_hash / f"{file_sha256(s.path)}.sources.npy") for s in samples]
    labels = [s.label for s in samples]
    return [auroc(labels, [anomaly_map.image_score(stack[i], top) for stack in stacks]) for i in range(3)]


def test_the_text_map_rows_come_from_the_same_run(mvtec, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(mvtec, out, _config(tmp_path)) == 0
    printed = capsys.readouterr().out
    document = json.loads((out / "metrics.json").read_text())
    block = document["text_map"]
    rows = block["classes"]["brick"]
    assert list(block["labels"].values()) == ["few-shot alone", "text map alone", f"fused (weight {WEIGHT:g})"]
    assert all(rows[s]["pixel_auroc"] is not None for s in rows), "the textures have masks"
    assert rows["text"] != rows["few_shot"], "the text map is a source of its own"
    # the headline vision-only figures rest on the fused map: the same image AUROC and pixel AUROC
    assert rows["fused"]["auroc"] == pytest.approx(document["classes"]["brick"]["auroc"])
    assert rows["fused"]["pixel_auroc"] == pytest.approx(document["classes"]["brick"]["pixel_auroc"], abs=1e-6)
    samples = [s for s in load_dataset(mvtec, "mvtec").samples if s.class_name == "brick"]
    evidence_hash = document["config"]["result_config_hashes"]["brick"]["evidence"]
    kept = _kept_aurocs(out, samples, evidence_hash, RetrievalConfig().map.top_fraction)
    assert [rows[s]["auroc"] for s in ("few_shot", "text", "fused")] == pytest.approx(kept)
    assert "text map alone: AUROC" in printed and "## Text map" in (out / "report.md").read_text()
    assert "<h2>Text map</h2>" in (out / "report.html").read_text()
    assert _run(mvtec, out, _config(tmp_path)) == 0
    assert json.loads((out / "metrics.json").read_text())["text_map"] == block, "a resumed run reads the kept maps"


def test_without_a_text_map_there_are_no_rows(mvtec, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(mvtec, out, _config(tmp_path, "none")) == 0
    assert "text_map" not in json.loads((out / "metrics.json").read_text())
    assert "text map alone" not in capsys.readouterr().out
    assert "Text map" not in (out / "report.md").read_text()
    assert not list((out / "maps").rglob("*.sources.npy"))
