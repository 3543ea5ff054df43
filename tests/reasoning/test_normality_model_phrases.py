"""Phrases of an added normality from the configured language model, beside the templates': the prompt,
the reading of the answer, the fallback when the model fails, and a real tiny transformers model."""

import json

import pytest
from projected_text_space import install, text_map_config
from scripted_backend import ScriptedBackend

from assistant.home import Home
from assistant.inspector import Inspector
from assistant.reasoning.normality_phrases import MAX_PHRASES, parse_phrases
from retrieval.text_space.normality_phrases import normality_phrases

LINES = "thin dark lines along the border are normal"


def logged(home) -> list[dict]:
    return [json.loads(line) for p in sorted((home / "runs").glob("*.jsonl")) for line in p.read_text().splitlines()
            if '"normality_added"' in line]


def test_an_answer_is_read_one_phrase_per_line():
    answer = ('Here are the phrases:\n1. thin dark lines at the edge\n- "faint grey border lines"\n'
              '* thin dark lines at the edge\n2) narrow shadow along the rim.\n\n{"json": 1, "x": [2, 3]}\n'
              + " ".join(["word"] * 20))
    assert parse_phrases(answer) == ("Here are the phrases:", "thin dark lines at the edge",
                                     "faint grey border lines", "narrow shadow along the rim")
    assert parse_phrases("\n".join(f"phrase number {c}" for c in "abcdefgh")) == tuple(
        f"phrase number {c}" for c in "abcdef")[:MAX_PHRASES]
    assert parse_phrases("12345\n###\n") == ()


@pytest.fixture
def inspector_with(home_copy, monkeypatch):
    install(monkeypatch)

    def build(backend):
        return Inspector(text_map_config(), Home(home_copy), backend=backend)
    return build


def test_the_model_phrases_follow_the_templates(inspector_with, home_copy):
    backend = ScriptedBackend(["1. thin dark lines at the edge\n2. faint grey border lines"])
    change = inspector_with(backend).normalities.add(LINES, "brick", "eve")
    templates = normality_phrases(LINES, "brick")
    assert change.normality.phrases == (*templates, "thin dark lines at the edge", "faint grey border lines")
    (call,) = backend.calls
    prompt = call["messages"][0].text
    assert '"thin dark lines along the border"' in prompt and "brick" in prompt and not call["guided"]
    (line,) = logged(home_copy)
    assert line["phrases_by"] == "templates + model scripted" and line["phrases"] == list(change.normality.phrases)
    stored = json.loads((home_copy / "normalities.json").read_text())["normalities"][0]
    assert stored["phrases"] == list(change.normality.phrases)                # kept: never asked again


class Failing(ScriptedBackend):
    def generate(self, messages, **kwargs):
        raise RuntimeError("connection refused by 127.0.0.1:8000\nmore")


@pytest.mark.parametrize(("backend", "why"), [(Failing([""]), "failed: connection refused by 127.0.0.1:8000)"),
                                              (ScriptedBackend(["{}\n42"]), "wrote no usable phrase)")])
def test_a_model_without_usable_phrases_leaves_the_templates(inspector_with, home_copy, backend, why):
    change = inspector_with(backend).normalities.add(LINES, "brick", "eve")
    assert change.normality.phrases == normality_phrases(LINES, "brick")
    (line,) = logged(home_copy)
    assert line["phrases_by"].startswith("templates (model scripted ") and line["phrases_by"].endswith(why)


def test_vision_only_uses_the_templates(inspector_with, home_copy):
    change = inspector_with(None).normalities.add(LINES, "brick", "eve")
    assert change.normality.phrases == normality_phrases(LINES, "brick")
    assert logged(home_copy)[0]["phrases_by"] == "templates"


def test_a_real_tiny_model_is_asked_and_its_answer_read(inspector_with, home_copy, tiny_backend):
    """Random weights write no sensible phrase; the path is the real one (chat template, generate, decode)."""
    backend = tiny_backend("qwen2_vl")
    change = inspector_with(backend).normalities.add(LINES, "brick", "eve")
    templates = normality_phrases(LINES, "brick")
    assert change.normality.phrases[:len(templates)] == templates
    assert len(change.normality.phrases) <= len(templates) + MAX_PHRASES
    assert logged(home_copy)[0]["phrases_by"].startswith(("templates + model tiny-qwen2_vl",
                                                          "templates (model tiny-qwen2_vl"))
