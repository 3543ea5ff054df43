"""`normalcy eval` through the console script: every output file, the metrics.json contract, references
from training normals only, and one-line errors for bad input."""

import json
import re
from pathlib import Path

import pytest
from cli_runner import run_cli
from eval_datasets import write_mvtec

from assistant.evaluation.result_cache import file_sha256

METRIC_KEYS = ("auroc", "aupr", "aupr_normal_positive", "acc", "balanced_acc", "f1", "f1_at_thr", "f1_max",
               "overkill", "miss", "pixel_auroc", "aupro")
COUNT_KEYS = ("n", "n_good", "n_defective", "n_unparsed", "n_vision_only", "tp", "fp", "tn", "fn")


@pytest.fixture(scope="module")
def mvtec(tmp_path_factory):
    return write_mvtec(tmp_path_factory.mktemp("eval_cli") / "mvtec")


@pytest.fixture(scope="module")
def evaluated(mvtec, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval_cli_out") / "run"
    operator_home = tmp_path_factory.mktemp("operator_home")
    done = run_cli("--home", str(operator_home), "eval", str(mvtec), "--layout", "mvtec", "--out", str(out),
                   "--strategy", "all")
    assert done.returncode == 0, done.stderr
    return out, done, operator_home


def test_eval_writes_metrics_report_and_cases(evaluated):
    out, done, operator_home = evaluated
    for name in ("metrics.json", "report.md", "report.html", "results.jsonl"):
        assert (out / name).is_file(), name
    assert "metrics.json" in done.stdout and "vision_only: AUROC" in done.stdout
    assert "evaluating" in done.stderr                                  # the progress bar, on stderr
    assert not any(operator_home.iterdir()), "the operator's data home must not be touched"
    assert len((out / "results.jsonl").read_text().splitlines()) == 8   # 2 classes x 4 test images


def test_metrics_json_follows_the_contract(evaluated):
    doc = json.loads((evaluated[0] / "metrics.json").read_text())
    assert set(doc) == {"classes", "mean", "config", "strategies"}
    assert sorted(doc["classes"]) == ["brick", "gravel"] and list(doc["strategies"]) == ["vision_only"]
    for block in [*doc["classes"].values(), doc["mean"]]:
        for key in METRIC_KEYS:
            assert block[key] is None or isinstance(block[key], float), key
        for key in COUNT_KEYS:
            assert isinstance(block[key], int), key
    brick = doc["classes"]["brick"]
    assert (brick["n"], brick["n_good"], brick["n_defective"], brick["n_unparsed"]) == (4, 2, 2, 0)
    assert brick["pixel_auroc"] is not None and brick["aupro"] is not None   # masks → pixel metrics
    assert doc["mean"]["n"] == 8 and doc["strategies"]["vision_only"]["classes"] == doc["classes"]
    assert "pixel_method" not in doc["mean"] and "f1_max_threshold" not in doc["mean"]
    config = doc["config"]
    assert config["layout"] == "mvtec" and config["model"] is None and config["headline_strategy"] == "vision_only"
    assert config["n_references"] == {"brick": 8, "gravel": 8} and "--model" in config["notes"][0]


def test_references_are_the_training_normals_and_never_a_test_image(evaluated, mvtec):
    from assistant.config import NormalcyConfig
    from assistant.home import Home
    from assistant.workspace import Workspace

    store = Workspace(NormalcyConfig(), Home(evaluated[0] / "home")).references
    for name in ("brick", "gravel"):
        stored = {r.sha256 for r in store.of_class(name)}
        tests = {file_sha256(p) for p in (mvtec / name / "test").rglob("*.png")}
        assert stored == {file_sha256(p) for p in (mvtec / name / "train" / "good").glob("*.png")}
        assert len(tests) == 4 and not stored & tests


def test_report_says_vlm_rows_need_a_model_and_shows_curves_and_cases(evaluated):
    out = evaluated[0]
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for text in (md, page):
        assert "VLM rows" in text and "--model" in text
    assert page.count("<polyline") >= 4                                 # ROC + PR per class
    overlays = re.findall(r"\| (/\S+/cases/\S+\.png) \|", md)
    assert all(Path(p).is_file() and Path(p).is_relative_to(out / "cases") for p in overlays)
    assert page.count("data:image/png;base64,") == len(overlays)


def test_a_second_run_reuses_every_verdict(evaluated, mvtec):
    out = evaluated[0]
    before = json.loads((out / "metrics.json").read_text())
    done = run_cli("eval", str(mvtec), "--layout", "mvtec", "--out", str(out), "--strategy", "all")
    assert done.returncode == 0, done.stderr
    assert "0 verdict(s) computed, 8 reused" in done.stdout
    assert json.loads((out / "metrics.json").read_text()) == before


@pytest.mark.parametrize("args, words", [
    (["--layout", "mvtec", "--classes", "brick,bottle"], "unknown class(es) bottle"),
    (["--layout", "visa"], "is not a VisA tree"),
    (["--layout", "coco"], "unknown layout 'coco'"),
    (["--layout", "mvtec", "--strategy", "naive"], "--model"),
])
def test_bad_input_exits_2_with_one_line(mvtec, tmp_path, args, words):
    done = run_cli("eval", str(mvtec), "--out", str(tmp_path / "out"), *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and words in done.stderr and done.stderr.startswith("error: ")
    assert not (tmp_path / "out" / "metrics.json").exists()
