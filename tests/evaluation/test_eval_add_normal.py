"""`normalcy eval DATASET --add-normal GROUP` (the NAND protocol) on a small generated MVTec tree: the group
re-labelled normal, its normality added through the product path, AUROC before/after for the re-labelled task
and each other group, re-runnable into the same folder; bad groups and a missing text map are one line."""

import json

import pytest
from eval_datasets import write_mvtec
from projected_text_space import install

from assistant.evaluation.dataset import load_dataset
from assistant.evaluation.metrics import auroc
from assistant.evaluation.normality_protocol import WHO
from assistant.home import Home
from assistant.inspector import Inspector
from assistant.config import load_config
from ui.cli import main

GROUP = "stain"


@pytest.fixture(scope="module")
def mvtec(tmp_path_factory):
    return write_mvtec(tmp_path_factory.mktemp("eval_nand") / "mvtec", classes=("brick",), n_good=2, n_defect=3)


@pytest.fixture
def config(tmp_path, monkeypatch):
    install(monkeypatch)
    path = tmp_path / "text_map.yaml"
    path.write_text("retrieval:\n  text_map:\n    provider: clad\n")
    return path


def _run(mvtec, out, config, group=GROUP):
    return main(["--config", str(config), "eval", str(mvtec), "--layout", "mvtec", "--out", str(out),
                 "--add-normal", group])


def _scores(inspector, samples):
    return [inspector.gather(s.path, s.class_name).map_score for s in samples]


def test_the_protocol_reports_before_and_after_and_reruns_alike(mvtec, tmp_path, config, capsys):
    out = tmp_path / "out"
    assert _run(mvtec, out, config) == 0
    printed = capsys.readouterr().out
    document = json.loads((out / "nand.json").read_text())
    brick = document["classes"]["brick"]
    assert document["group"] == GROUP and document["normality"] == "a stain is acceptable"
    assert set(brick["others"]) == {"scratch", "missing"} and "AUROC relabelled:" in printed
    # the figures are the AUROCs of the home's own scores, with the group counted as normal
    inspector = Inspector(load_config(config), Home(out / "home"))
    assert inspector.normalities.list() == [], "the run leaves the eval home without added normalities"
    logged = [(r["kind"], r["who"]) for r in inspector.log.records() if r["kind"].startswith("normality")]
    assert logged == [("normality_added", WHO), ("normality_removed", WHO)]
    samples = load_dataset(mvtec, "mvtec").samples
    labels = [int(s.label == 1 and s.defect_type != GROUP) for s in samples]
    before = _scores(inspector, samples)
    inspector.normalities.add("a stain is acceptable", "brick", "test")
    after = _scores(inspector, samples)
    inspector.normalities.remove(inspector.normalities.list()[0].id, "test")
    assert all(a < b for a, b in zip(after, before)), "suppression only lowers a map"
    assert brick["relabelled"] == {"before": auroc(labels, before), "after": auroc(labels, after)}
    scratch = [i for i, s in enumerate(samples) if s.defect_type in ("good", "scratch")]
    assert brick["others"]["scratch"]["after"] == auroc([labels[i] for i in scratch], [after[i] for i in scratch])
    assert _run(mvtec, out, config) == 0
    assert json.loads((out / "nand.json").read_text()) == document, "a re-run starts from no added normality"


def test_a_group_not_in_the_dataset_is_one_line(mvtec, tmp_path, config, capsys):
    assert _run(mvtec, tmp_path / "out", config, group="crack") == 2
    err = capsys.readouterr().err
    assert "'crack' is not in" in err and "missing, scratch, stain" in err


def test_without_a_text_map_the_protocol_is_refused(mvtec, tmp_path, capsys):
    code = main(["eval", str(mvtec), "--layout", "mvtec", "--out", str(tmp_path / "out"), "--add-normal", GROUP])
    assert code == 2 and "retrieval.text_map.provider" in capsys.readouterr().err
    assert not (tmp_path / "out" / "nand.json").exists()
