"""The one answer parser: extraction, repairs, normalisation, fuzzing, and the re-ask flow."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scripted_backend import ScriptedBackend

from assistant.reasoning.answer_parser import parse_answer, verdict_from_model
from assistant.verdict import MODEL_SCHEMA
from assistant.vlm.messages import user

CASES = [
    ('{"reasoning": "clean rim", "correctness": 1}', 1, "clean rim"),
    ('Here you go:\n```json\n{"reasoning": "scratch", "correctness": 0}\n```', 0, "scratch"),
    ("{'reasoning': 'it\\'s fine', 'correctness': 1}", 1, "it's fine"),
    ('{"reasoning": "a", "correctness": 0,}', 0, "a"),
    ('{reasoning: "a", correctness: 1}', 1, "a"),
    ('{"reasoning": "a", "correctness": "1"}', 1, "a"),
    ('{"reasoning": "a", "correctness": true}', 1, "a"),
    ('{"reasoning": "a", "correctness": false}', 0, "a"),
    ('{"reasoning": "a", "correctness": "Normal"}', 1, "a"),
    ('{"reasoning": "a", "correctness": "anomalous"}', 0, "a"),
    ('{"reasoning": "a", "correctness": anomalous}', 0, "a"),
    ('{"reasoning": "a", "correctness": 1.0}', 1, "a"),
    ('{"Reasoning": "a", "CORRECTNESS": 0, "confidence": 0.8}', 0, "a"),
    ('{"reasoning": "two\nlines", "correctness": 0}', 0, "two\nlines"),
    ('{“reasoning”: “curly”, “correctness”: 1}', 1, "curly"),
    ('The schema is {"type": "object"}. Answer: {"reasoning": "brace } inside", "correctness": 0}', 0,
     "brace } inside"),
    ('{"reasoning": "cut at the end", "correctness": 0', 0, "cut at the end"),
    ('{"reasoning": ["a", "b"], "correctness": 1}', 1, "a b"),
]
UNPARSED = ['no json here', '{"reasoning": "a", "correctness": "yes"}', '{"reasoning": "a", "correctness": 2}',
            '{"correctness": 1}', '{"reasoning": "a"}', '[1, 0]', '{"reasoning": "unterminated', '', '{' * 5000,
            "Yes, it is defective."]


@pytest.mark.parametrize("text,correctness,reasoning", CASES)
def test_parses_and_repairs_common_answers(text, correctness, reasoning):
    parsed = parse_answer(text)
    assert parsed.ok, parsed.problem
    assert (parsed.correctness, parsed.reasoning) == (correctness, reasoning)
    assert parsed.raw_text == text


@pytest.mark.parametrize("text", UNPARSED)
def test_never_guesses_from_prose_or_invalid_values(text):
    parsed = parse_answer(text)
    assert parsed.status == "unparsed" and parsed.raw_text == text and parsed.problem


def test_the_last_valid_object_wins():
    text = 'Example: {"reasoning": "example", "correctness": 1}. Mine: {"reasoning": "dent", "correctness": 0}'
    assert parse_answer(text).reasoning == "dent"


def _check(parsed, text):
    assert parsed.raw_text == text
    if parsed.ok:
        jsonschema.validate({"reasoning": parsed.reasoning, "correctness": parsed.correctness}, MODEL_SCHEMA)
    else:
        assert parsed.status == "unparsed" and parsed.problem


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_any_text_never_raises(text):
    _check(parse_answer(text), text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), json_values, json_values, st.sampled_from(["", "```json\n", "Answer: "]),
       st.integers(min_value=0, max_value=60))
def test_fuzz_broken_answers_never_raise(prose, reasoning, correctness, prefix, cut):
    body = json.dumps({"reasoning": reasoning, "correctness": correctness})
    for text in (prefix + body, prose + body[: len(body) - cut], body.replace('"', "'"), prose + body + prose):
        _check(parse_answer(text), text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80), st.sampled_from([0, 1]))
def test_fuzz_valid_answers_round_trip(reasoning, correctness):
    text = json.dumps({"reasoning": reasoning, "correctness": correctness})
    parsed = parse_answer("Sure.\n" + text)
    assert (parsed.reasoning, parsed.correctness) == (reasoning, correctness)


def test_valid_first_answer_needs_no_reask():
    backend = ScriptedBackend(['{"reasoning": "ok", "correctness": 1}'], p_anomalous=0.1)
    answer = verdict_from_model(backend, [user("inspect")], guided=True)
    assert (answer.status, answer.correctness, answer.p_anomalous) == ("ok", 1, 0.1)
    assert len(backend.calls) == 1 and backend.calls[0]["guided"] is True
    assert [m.role for m in answer.messages] == ["user", "assistant"]


def test_invalid_answer_is_reasked_once_with_the_bad_answer_and_a_correction():
    backend = ScriptedBackend(["It looks fine to me.", '{"reasoning": "fine", "correctness": 1}'])
    answer = verdict_from_model(backend, [user("inspect")])
    assert answer.status == "ok" and answer.correctness == 1
    retry = backend.calls[1]["messages"]
    assert [m.role for m in retry] == ["user", "assistant", "user"]
    assert retry[1].text == "It looks fine to me." and "no JSON object found" in retry[2].text
    assert answer.raw_texts == ("It looks fine to me.", '{"reasoning": "fine", "correctness": 1}')


def test_still_invalid_after_one_reask_is_unparsed_with_every_raw_answer_kept():
    backend = ScriptedBackend(["maybe?", "definitely maybe"])
    answer = verdict_from_model(backend, [user("inspect")])
    assert answer.status == "unparsed" and answer.correctness is None and answer.p_anomalous is None
    assert len(backend.calls) == 2
    assert answer.raw_texts == ("maybe?", "definitely maybe") and "definitely maybe" in answer.raw_text
