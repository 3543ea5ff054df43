"""The Inspector with a real (tiny, random) VLM loaded through the real loader, and with scripted
answers for the paths a random model cannot reach on purpose (unparsed)."""

import json
import shutil

import pytest
from scripted_backend import ScriptedBackend

from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.inspector import Inspector

# a random model answers at random: parsed, it is "ok", or "needs_review" where it contradicts the map
ANSWERED = ("ok", "needs_review")


@pytest.fixture
def home_copy(ready_home, tmp_path):
    """A private copy of the ready home (calibration files get written)."""
    target = tmp_path / "home"
    shutil.copytree(ready_home.root, target)
    return Home(target)


def _image(texture_set, kind="defect"):
    return sorted((texture_set / "test" / kind).glob("*.png"))[0]


def test_model_verdict_is_guided_fused_and_calibrated(home_copy, texture_set, tiny_backend, guided):
    backend = tiny_backend("qwen2_5_vl")
    inspector = Inspector(NormalcyConfig(), home_copy, backend=backend)
    inspection = inspector.inspect(_image(texture_set), "brick", question="is the mortar cracked?")
    verdict = inspection.verdict
    assert verdict.status in ANSWERED and verdict.correctness in (0, 1) and verdict.model == backend.name
    assert 0.0 <= verdict.model_score <= 1.0 and verdict.raw_text
    stored = json.loads((home_copy.root / "model_calibration.json").read_text())
    (key, entry), = stored.items()
    assert key.startswith("brick|") and len(entry["p_normals"]) == NormalcyConfig().vlm.calibration_samples
    expected = 0.5 * inspection.evidence.anomaly_score + 0.5 * verdict.model_score / entry["threshold"]
    assert verdict.anomaly_score == pytest.approx(expected, abs=1e-3)


def test_follow_up_and_look_closer_keep_the_images_in_context(home_copy, texture_set, tiny_backend, guided):
    inspector = Inspector(NormalcyConfig(), home_copy, backend=tiny_backend("qwen2_5_vl"))
    inspection = inspector.inspect(_image(texture_set), "brick")
    images_before = sum(len(m.images) for m in inspection.session.history)
    answer = "".join(inspector.ask(inspection, "Where exactly is the defect?"))
    assert isinstance(answer, str) and inspection.turns[-1] == ("Where exactly is the defect?", answer)
    inspector.look_closer(inspection)
    history = inspection.session.history
    assert sum(len(m.images) for m in history) == images_before + 2        # the where crop and the zoomed one
    assert history[1].images, "the first user turn with the query and references stays in context"
    mine = [r for r in inspector.log.records() if inspection.id in (r.get("id"), r.get("inspection"))]
    assert [r["kind"] for r in mine] == ["inspection", "turn", "turn"]


def test_unparsed_answers_are_kept_and_decided_from_the_evidence(home_copy, texture_set):
    backend = ScriptedBackend(["I think it looks fine, maybe?", "Still not JSON, sorry."])
    inspector = Inspector(NormalcyConfig(), home_copy, backend=backend)
    inspection = inspector.inspect(_image(texture_set), "brick")
    verdict = inspection.verdict
    assert verdict.status == "unparsed"
    assert "I think it looks fine" in verdict.raw_text and "Still not JSON" in verdict.raw_text
    assert verdict.correctness == int(verdict.anomaly_score < 1.0)
    assert verdict.anomaly_score == pytest.approx(inspection.evidence.anomaly_score, abs=1e-3)


def test_vision_only_follow_up_ranks_rules_by_the_question(ready_home, texture_set):
    inspector = Inspector(NormalcyConfig(), ready_home)
    inspection = inspector.inspect(_image(texture_set), "brick", log=False)
    answer = "".join(inspector.ask(inspection, "which rule covers mortar?"))
    assert answer.startswith("Rules for the region") and "1. [brick-" in answer and "why:" in answer


def test_a_follow_up_prompt_carries_the_evidence_vision_only_mode_answers_with(home_copy, texture_set):
    from assistant.inspection.follow_up import FOR_THE_MODEL

    backend = ScriptedBackend(['{"reasoning": "A scratch.", "correctness": 0}', "The scratch rule applies."])
    inspector = Inspector(NormalcyConfig(), home_copy, backend=backend)
    inspection = inspector.inspect(_image(texture_set), "brick")
    assert "".join(inspector.ask(inspection, "which rule applies?")) == "The scratch rule applies."
    asked = inspection.session.history[-2].text
    assert asked.startswith("which rule applies?") and FOR_THE_MODEL in asked and "1. [brick-" in asked
    assert inspection.turns[-1][0] == "which rule applies?"                 # the log keeps the question asked
    assert inspector.follow_up_images(inspection, "where exactly?") == []   # a model answers in words


def test_cli_inspect_with_a_local_model_folder(ready_home, texture_set, tiny_model_dirs, guided, tmp_path):
    from cli_runner import run_cli

    home = tmp_path / "cli_home"
    shutil.copytree(ready_home.root, home)
    fast = tmp_path / "fast.yaml"  # 7 answers of 384 tokens took 264 s on 2 loaded cores; 3 of 48 suffice here
    fast.write_text("vlm:\n  max_new_tokens: 48\n  calibration_samples: 2\n")
    done = run_cli("--home", str(home), "--config", str(fast), "inspect", str(_image(texture_set)), "--class", "brick",
                   "--model", str(tiny_model_dirs["smolvlm"]), "--strategy", "rules_reference", "--json")
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert verdict["status"] in (*ANSWERED, "unparsed") and verdict["model"]
    missing = run_cli("--home", str(home), "inspect", str(_image(texture_set)), "--class", "brick",
                      "--model", str(tmp_path / "no_such_model"))
    assert missing.returncode == 2 and missing.stderr.startswith("error: ")
