"""The conversation and the run log always agree, Regenerate retracts the right turn, a reopened
inspection is prompted as logged, and a verdict never silently contradicts its own evidence."""

import json
import shutil

import pytest
from scripted_backend import ScriptedBackend

from assistant.config import NormalcyConfig
from assistant.home import Home
from assistant.inspect_options import InspectOptions
from assistant.inspector import Inspector
from assistant.reasoning.region_check import overlap, region_check
from assistant.vlm.messages import count_images

NORMAL = json.dumps({"reasoning": "Even bricks and mortar, nothing out of place.", "correctness": 1})
DEFECT = json.dumps({"reasoning": "A dark scratch in the top left.", "correctness": 0})


class BreakingBackend(ScriptedBackend):
    """Streams two words, then the connection dies — on the first streamed call only."""

    broke = False

    def stream(self, messages, *, max_new_tokens=None):
        pieces = super().stream(messages, max_new_tokens=max_new_tokens)
        if not self.broke:
            self.broke = True
            yield next(pieces)
            yield next(pieces)
            raise ConnectionError("the model server went away mid-stream")
        yield from pieces


@pytest.fixture
def home_copy(ready_home, tmp_path):
    shutil.copytree(ready_home.root, tmp_path / "home")
    return Home(tmp_path / "home")


def _turns(inspector, inspection_id):
    return [r for r in inspector.log.records() if r.get("kind") == "turn" and r["inspection"] == inspection_id]


def _image(texture_set, kind):
    return sorted((texture_set / "test" / kind).glob("*.png"))[0]


def test_a_broken_stream_leaves_no_half_turn_and_regenerate_retracts_the_right_one(home_copy, texture_set):
    backend = BreakingBackend([NORMAL, "The mortar lines are straight and even."])
    inspector = Inspector(NormalcyConfig(), home_copy, backend=backend)
    inspection = inspector.inspect(_image(texture_set, "good"), "brick")
    before = list(inspection.session.history)
    with pytest.raises(ConnectionError):
        list(inspector.ask(inspection, "where exactly?"))
    assert inspection.session.history == before and inspection.turns == [] and _turns(inspector, inspection.id) == []
    answer = "".join(inspector.ask(inspection, "is the mortar even?"))
    assert answer.startswith("The mortar") and len(inspection.session.history) == len(before) + 2
    assert [t["question"] for t in _turns(inspector, inspection.id)] == ["is the mortar even?"]
    assert inspector.retract_last_turn(inspection)[0] == "is the mortar even?"
    assert inspection.session.history == before


def test_a_cancelled_stream_is_not_recorded(home_copy, texture_set):
    inspector = Inspector(NormalcyConfig(), home_copy, backend=ScriptedBackend([NORMAL, "one two three four"]))
    inspection = inspector.inspect(_image(texture_set, "good"), "brick")
    before = list(inspection.session.history)
    stream = inspector.ask(inspection, "compare with the reference")
    assert next(stream).strip() == "one"
    stream.close()                                          # the operator stopped it
    assert inspection.session.history == before and _turns(inspector, inspection.id) == []


def test_reopen_prompts_with_the_logged_options(home_copy, texture_set):
    inspector = Inspector(NormalcyConfig(), home_copy, backend=ScriptedBackend([NORMAL]))
    options = InspectOptions(reference_images=0, overlay=False)
    evidence = inspector.gather(_image(texture_set, "good"), "brick", options=options)
    logged = inspector.conclude(evidence, options=options)
    assert count_images(logged.session.history) == 1                  # the query only
    reopened = Inspector(NormalcyConfig(), home_copy, backend=ScriptedBackend([NORMAL])).reopen(logged.id)
    assert count_images(reopened.session.history) == 1                # not the configured 2 refs + overlay


def _scored(inspector, texture_set, kind, pick):
    images = sorted((texture_set / "test" / kind).glob("*.png"))
    scored = [(inspector.gather(path, "brick").anomaly_score, path) for path in images]
    return pick(scored)


def test_a_pass_far_above_the_threshold_is_held_for_review(home_copy, texture_set):
    inspector = Inspector(NormalcyConfig(), home_copy, backend=ScriptedBackend([NORMAL]))
    score, image = _scored(inspector, texture_set, "defect", max)
    assert score >= 1.25, "the test needs a defect the map scores well above the threshold"
    verdict = inspector.inspect(image, "brick").verdict
    assert verdict.status == "needs_review" and verdict.correctness == 0 and verdict.label == "NEEDS REVIEW"
    assert "answered normal" in verdict.notice and f"{score:.2f}" in verdict.notice


def test_a_fail_far_below_the_threshold_is_held_and_agreement_is_not(home_copy, texture_set):
    import dataclasses

    score, image = _scored(Inspector(NormalcyConfig(), home_copy), texture_set, "good", min)
    assert score < 1.0, "the test needs a normal the map scores below the threshold"
    config = NormalcyConfig()
    config = dataclasses.replace(config, vlm=dataclasses.replace(config.vlm, review_margin=(1 - score) / 2))
    verdict = Inspector(config, home_copy, backend=ScriptedBackend([DEFECT])).inspect(image, "brick").verdict
    assert verdict.status == "needs_review" and "answered defective" in verdict.notice
    agreeing = Inspector(config, home_copy, backend=ScriptedBackend([NORMAL])).inspect(image, "brick")
    assert agreeing.verdict.status == "ok" and agreeing.verdict.label == "PASS"


def test_the_region_the_model_names_is_checked_against_the_map():
    assert overlap([0, 0, 10, 10], [5, 5, 15, 15]) == pytest.approx(25 / 175)
    box = region_check("The crack at [10, 10, 40, 40] is deep.", [20, 20, 50, 50], (30, 30), (100, 100))
    assert box["agrees"] and box["overlap"] > 0.1
    assert not region_check("Damage at [60, 60, 90, 90].", [0, 0, 30, 30], (10, 10), (100, 100))["agrees"]
    assert region_check("A stain in the top left corner.", None, (10, 12), (100, 100))["agrees"]
    assert not region_check("A stain in the lower right.", None, (10, 12), (100, 100))["agrees"]
    assert region_check("Nothing unusual anywhere.", None, (10, 12), (100, 100)) is None


class ProbabilityBackend(ScriptedBackend):
    """Scripted answers with a P(anomalous), counting generations (calibration asks the model too)."""

    def __init__(self, answers):
        super().__init__(answers, p_anomalous=0.2)


def test_model_calibration_runs_at_warm_up_and_other_settings_in_the_background(home_copy, texture_set):
    import time

    backend = ProbabilityBackend([NORMAL])
    inspector = Inspector(NormalcyConfig(), home_copy, backend=backend)
    inspector.warm_up(calibrate=True)
    samples = NormalcyConfig().vlm.calibration_samples
    assert len(backend.calls) == samples                      # the configured setting, before any request
    verdict = inspector.inspect(_image(texture_set, "good"), "brick").verdict
    assert len(backend.calls) == samples + 1 and verdict.notice is None        # calibrated: no wait, no note
    switched = InspectOptions(reference_images=0, overlay=False)              # another operator's switch
    started = len(backend.calls)
    evidence = inspector.gather(_image(texture_set, "good"), "brick", options=switched)
    quick = inspector.conclude(evidence, options=switched, log=False).verdict
    assert "being calibrated" in quick.notice                 # answered now, uncalibrated, and says so
    deadline = time.monotonic() + 120
    while inspector.reasoner.thresholds.pending() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not inspector.reasoner.thresholds.pending()
    assert len(backend.calls) == started + 1 + samples        # the request's one, then the background's
    later = inspector.conclude(evidence, options=switched, log=False).verdict
    assert later.notice is None
