"""Session: follow-ups keep the inspection images in context; look_closer; history policy."""

from __future__ import annotations

import pytest
from vlm_test_images import solid
from scripted_backend import ScriptedBackend

from assistant.reasoning.conversation import Session, estimate_tokens, fit_history, zoom_region
from assistant.reasoning.prompt_builder import STRATEGIES, build_messages
from assistant.vlm.messages import assistant, count_images, system, user
from retrieval.errors import BadInput

VERDICT = '{"reasoning": "a scratch near the rim", "correctness": 0}'


def _session(images, answers, **kw):
    messages = build_messages(STRATEGIES["reference"], query=images["query"], class_name="bottle",
                              references=images["references"])
    return Session(ScriptedBackend([VERDICT, *answers], **kw), messages, images["query"])


def test_follow_up_questions_are_asked_with_the_inspection_images_in_context(images):
    session = _session(images, ["It is 3 mm long.", "Yes, reject it."])
    answer = session.inspect()
    assert answer.status == "ok" and answer.correctness == 0
    session.ask("How long is the scratch?")
    second = session.ask("Should I reject it?")
    assert second.text == "Yes, reject it."
    sent = session.backend.calls[-1]["messages"]
    assert count_images(sent) == 3  # two references + query, still there
    assert [m.role for m in sent] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert sent[2].text == VERDICT and sent[-1].text == "Should I reject it?"
    assert [m.role for m in session.history][-2:] == ["user", "assistant"]


def test_streamed_follow_up_joins_the_history(images):
    session = _session(images, ["The scratch is on the rim."])
    session.inspect()
    assert "".join(session.ask_stream("Where?")) == "The scratch is on the rim."
    assert session.history[-1].text == "The scratch is on the rim."


def test_look_closer_adds_a_zoomed_crop_as_an_extra_image_turn(images):
    session = _session(images, ["Closer: a hairline crack."])
    session.inspect()
    session.look_closer((10, 10, 30, 20), "Is it a crack?")
    turn = session.backend.calls[-1]["messages"][-1]
    assert turn.role == "user" and len(turn.images) == 1
    assert "x 10-30, y 10-20" in turn.text and "Is it a crack?" in turn.text
    assert min(turn.images[0].size) >= 448


def test_zoom_region_pads_clamps_and_upscales():
    image = solid(size=(200, 100))
    crop = zoom_region(image, (0, 0, 20, 10), pad=0.5, min_side=100)
    # pad: max(8, 0.5 * 20) = 10 px in x, max(8, 0.5 * 10) = 8 px in y; clamped at 0 → crop 30x18,
    # then scaled so the short side is 100: 167x100
    assert crop.size == (167, 100)
    with pytest.raises(BadInput, match="empty"):
        zoom_region(image, (10, 10, 5, 20))
    with pytest.raises(BadInput, match="outside"):
        zoom_region(image, (500, 500, 600, 600))


def test_history_policy_keeps_head_and_newest_turns_and_notes_the_drop():
    head = [system("sys"), user(solid(), "inspect"), assistant("verdict")]
    middle = []
    for i in range(6):
        middle += [user(f"question {i} " + "x" * 400), assistant(f"answer {i} " + "y" * 400)]
    messages = head + middle + [user("newest question")]
    budget = estimate_tokens(head) + 400
    fitted, dropped = fit_history(messages, budget, estimate_tokens)
    assert fitted[:3] == head and dropped > 0 and dropped % 2 == 0
    assert fitted[-1].text.endswith("newest question") and "were dropped" in fitted[3].text
    roles = [m.role for m in fitted[1:]]
    assert all(a != b for a, b in zip(roles, roles[1:]))  # user/assistant still alternate
    assert estimate_tokens(fitted) <= budget + 60


def test_history_that_fits_is_sent_unchanged():
    messages = [system("s"), user("q"), assistant("a"), user("q2")]
    assert fit_history(messages, 10_000, estimate_tokens) == (messages, 0)


def test_session_drops_middle_turns_when_the_context_fills(images):
    session = _session(images, ["answer " + "z" * 2000], context_tokens=estimate_tokens([]) + 3400)
    session.max_new_tokens = 64
    session.inspect()
    for i in range(4):
        session.ask(f"follow-up {i}")
    sent = session.backend.calls[-1]["messages"]
    assert count_images(sent) == 3 and sent[-1].text.endswith("follow-up 3")
    assert len(sent) < len(session.history) and session.notes


def test_session_over_a_real_tiny_model_keeps_images_across_turns(guided, tiny_backend, images):
    backend = tiny_backend("qwen2_5_vl")
    messages = build_messages(STRATEGIES["overlay"], query=images["query"], class_name="bottle",
                              references=images["references"], overlay=images["overlay"])
    session = Session(backend, messages, images["query"], count_tokens=backend.count_tokens, max_new_tokens=48)
    answer = session.inspect(guided=True)
    assert answer.status == "ok" and 0.0 <= answer.p_anomalous <= 1.0
    session.look_closer((5, 5, 40, 40), "What is this?")
    rendered = backend.render(session.context())
    assert rendered.count("<|vision_start|>") == 5  # 2 references + query + overlay + zoomed crop
