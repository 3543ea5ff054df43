"""The evaluation's plan (strategies, --limit) and its append-only result cache, without any model."""

import json
from pathlib import Path

import pytest

from assistant.config import NormalcyConfig
from assistant.evaluation.dataset import Sample
from assistant.evaluation.plan import NO_MODEL_NOTE, VISION_ONLY, limit_samples, resolve_strategies
from assistant.reasoning.prompt_builder import STRATEGIES
from assistant.evaluation.result_cache import ResultCache, config_hash, result_key
from retrieval.errors import BadInput


def test_all_without_a_model_runs_vision_only_and_says_why():
    plan = resolve_strategies(["all"], has_model=False, configured="overlay")
    assert plan.strategies == (VISION_ONLY,) and plan.headline == VISION_ONLY
    assert plan.notes == (NO_MODEL_NOTE,) and "--model" in NO_MODEL_NOTE


def test_all_with_a_model_is_the_whole_ablation_headlined_by_the_configured_strategy():
    plan = resolve_strategies(["all"], has_model=True, configured="overlay")
    assert plan.strategies == (VISION_ONLY, *STRATEGIES) and plan.headline == "overlay" and not plan.notes
    assert resolve_strategies([], has_model=True, configured="rules").strategies == ("rules",)
    assert resolve_strategies([], has_model=False, configured="rules").strategies == (VISION_ONLY,)
    mixed = resolve_strategies(["naive,vision-only", "naive"], has_model=True, configured="overlay")
    assert mixed.strategies == ("naive", VISION_ONLY) and mixed.headline == "naive"


@pytest.mark.parametrize("names, has_model, words", [
    (["naive"], False, "--model"), (["telepathy"], True, "unknown strategy")])
def test_strategies_that_cannot_run_are_bad_input(names, has_model, words):
    with pytest.raises(BadInput, match=words):
        resolve_strategies(names, has_model=has_model, configured="overlay")


def _samples(n_good, n_bad, name="a"):
    return ([Sample(Path(f"/d/{name}/good/{i}.png"), name, 0, "good") for i in range(n_good)]
            + [Sample(Path(f"/d/{name}/bad/{i}.png"), name, 1, "bad") for i in range(n_bad)])


def test_limit_is_per_class_stratified_seeded_and_keeps_the_dataset_order():
    samples = _samples(6, 3, "a") + _samples(2, 8, "b")
    kept = limit_samples(samples, 4, seed=0)
    for name, (good, bad) in {"a": (3, 1), "b": (1, 3)}.items():
        mine = [s for s in kept if s.class_name == name]
        assert (sum(s.label == 0 for s in mine), sum(s.label == 1 for s in mine)) == (good, bad)
    assert kept == [s for s in samples if s in kept]
    assert limit_samples(samples, 4, seed=0) == kept and limit_samples(samples, None) == samples
    assert {s.label for s in limit_samples(_samples(9, 1), 2)} == {0, 1}   # both labels when possible
    with pytest.raises(BadInput):
        limit_samples(samples, 0)


def _entry(key, score=0.5):
    return {"key": key, "anomaly_score": score, "correctness": 1, "status": "vision_only"}


def test_cache_is_append_only_and_drops_a_truncated_last_line(tmp_path):
    path = tmp_path / "results.jsonl"
    cache = ResultCache(path)
    for i in range(3):
        cache.append(_entry(f"k{i}", i))
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"key": "k3", "anomaly_sc')           # killed mid-write
    again = ResultCache(path)
    assert len(again) == 3 and again.get("k2")["anomaly_score"] == 2 and "k3" not in again
    again.append(_entry("k3", 3))
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()] == ["k0", "k1", "k2", "k3"]


def test_cache_keeps_a_last_line_without_newline_and_refuses_a_corrupt_middle(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(_entry("k0")) + "\n" + json.dumps(_entry("k1")))
    cache = ResultCache(path)
    assert "k1" in cache and path.read_text().endswith("\n")
    path.write_text(json.dumps(_entry("k0")) + "\nnot json\n" + json.dumps(_entry("k1")) + "\n")
    with pytest.raises(BadInput, match="line 2"):
        ResultCache(path)


def test_result_keys_change_with_what_a_result_depends_on():
    config = NormalcyConfig()
    vision = config_hash(config, "refs-1")
    assert vision == config_hash(NormalcyConfig(), "refs-1")
    assert len({vision, config_hash(config, "refs-2"), config_hash(config, "refs-1", "model-a"),
                config_hash(config, "refs-1", "model-b")}) == 4
    assert result_key("sha", "brick", "naive", vision) != result_key("sha", "brick", "class", vision)


def test_model_results_go_stale_with_rule_texts_templates_text_encoder_and_weights(tmp_path):
    """Edited rules or swapped weights must never reuse cached model verdicts."""
    import dataclasses
    import shutil
    from types import SimpleNamespace

    from assistant.evaluation.harness import Evaluation, model_weights_id
    from assistant.home import Home
    from assistant.workspace import Workspace

    rules = tmp_path / "rules"
    shutil.copytree(Path(NormalcyConfig().rules_dir), rules)
    config = dataclasses.replace(NormalcyConfig(), rules_dir=str(rules))
    evaluation = SimpleNamespace(inspector=SimpleNamespace(workspace=Workspace(config, Home(tmp_path / "home"))))
    before = Evaluation._prompt_inputs(evaluation)
    demo = rules / "demo.yaml"
    demo.write_text(demo.read_text().replace("scratch", "scrape", 1))
    after = Evaluation._prompt_inputs(evaluation)
    assert before != after
    assert config_hash(config, "refs", "m", before) != config_hash(config, "refs", "m", after)

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights-a")
    backend = SimpleNamespace(preset=SimpleNamespace(local_path=folder))
    first = model_weights_id(backend)
    (folder / "model.safetensors").write_bytes(b"weights-b")
    assert model_weights_id(backend) != first
    assert model_weights_id(SimpleNamespace(url="http://127.0.0.1:8000/v1")) == "http://127.0.0.1:8000/v1"
