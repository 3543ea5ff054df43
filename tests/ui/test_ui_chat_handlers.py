"""Chat handlers called directly over injected Inspectors: a real vision-only one over a test home, and
one whose model is the scripted fake (the product path — prompt, parser, session — is the real one)."""

import json

import gradio as gr
import pytest
from PIL import Image

from assistant.inspect_options import InspectOptions
from assistant.reasoning.prompt_builder import render
from ui.chat_handlers import ChatHandlers, options_from
from ui.chat_state import ChatState
from ui.markdown_text import literal

ALL_ON = ["class context", "rules", "overlay"]


def _send(handlers, image=None, text="", state=None, class_choice="brick", switches=ALL_ON, refs=2, style="heatmap"):
    message = {"text": text, "files": [str(image)] if image else []}
    steps = list(handlers.send_message(message, state, class_choice, switches, refs, style))
    return steps, steps[-1]


def _kinds(inspector, inspection_id):
    return [r["kind"] for r in inspector.log.records() if inspection_id in (r.get("id"), r.get("inspection"))]


def test_an_image_shows_the_evidence_first_then_the_verdict(ui_inspector, defect_image, images):
    handlers = ChatHandlers(ui_inspector, images)
    steps, last = _send(handlers, defect_image, "is the mortar cracked?", ChatState(owner="t1"))
    assert len(steps) == 3
    first_chat = steps[0][0]
    assert first_chat[0]["content"][0] == {"path": str(defect_image)} and steps[0][1] is None  # box cleared
    assert "Gathering the evidence" in steps[0][4] and steps[0][6] == []                       # old panel gone
    assert "Waiting for the verdict" in steps[1][4] and steps[1][8] == ""                      # pending card
    chat, _, state, note, card, overlay, gallery, rules, raw, error = last
    raw = json.loads(raw)
    assert raw["status"] == "vision_only" and raw["class_name"] == "brick"
    assert ("FAIL" if raw["correctness"] == 0 else "PASS") in card and "vision-only" in card
    assert Image.open(overlay).size[0] >= 320 and len(gallery) == len(raw["references"]) and " · d 0." in gallery[0][1]
    assert "<table" in rules and note == "Class: **brick**"
    assert state.inspection_id == state.record["id"] and chat[-1]["content"].startswith("Class: **brick**")
    assert _kinds(ui_inspector, state.inspection_id) == ["inspection", "owner"]


def test_auto_class_is_the_nearest_class_and_says_so(ui_inspector, good_image, images):
    _, last = _send(ChatHandlers(ui_inspector, images), good_image, state=ChatState(owner="t2"), class_choice="auto")
    assert last[3].startswith("Class: auto → **brick**") and "similarity" in last[3]
    assert json.loads(last[8])["class_name"] == "brick"


def test_follow_up_streams_and_regenerate_replaces_the_last_answer(ui_inspector, defect_image, images):
    handlers = ChatHandlers(ui_inspector, images)
    _, last = _send(handlers, defect_image, state=ChatState(owner="t3"))
    steps, after = _send(handlers, text="which rule covers mortar?", state=last[2])
    chat, state = after[0], after[2]
    assert chat[-2] == {"role": "user", "content": "which rule covers mortar?"}
    assert chat[-1]["content"].startswith("Rules for the region") and state.last_action == "ask"
    again = list(handlers.regenerate(state, ALL_ON, 2, "heatmap"))[-1]
    assert len(again[0]) == len(chat) and len(handlers.inspections.get(state).turns) == 1
    assert _kinds(ui_inspector, state.inspection_id).count("retract") == 1


def test_look_closer_adds_the_zoomed_crop_and_a_turn(ui_inspector, defect_image, images):
    handlers = ChatHandlers(ui_inspector, images)
    _, last = _send(handlers, defect_image, state=ChatState(owner="t4"))
    steps = list(handlers.look_closer(last[2]))
    chat, state = steps[-1][0], steps[-1][2]
    crop, text = chat[-2]["content"]
    assert Image.open(crop["path"]).size[0] >= 448 and "Look closer at the region" in text
    assert state.last_action == "look" and len(handlers.inspections.get(state).turns) == 1


def test_regenerating_a_verdict_makes_a_new_logged_inspection(ui_inspector, defect_image, images):
    handlers = ChatHandlers(ui_inspector, images)
    _, last = _send(handlers, defect_image, state=ChatState(owner="t5"))
    first_id = last[2].inspection_id
    again = list(handlers.regenerate(last[2], ["class context"], 0, "box"))[-1]
    assert again[2].inspection_id != first_id and again[2].options.rules is False
    assert "switched off" in again[7] and len(again[0]) == 2 and json.loads(again[8])["rules"] == []


def test_new_inspection_clears_the_session_but_keeps_its_owner(ui_inspector, defect_image, images):
    handlers = ChatHandlers(ui_inspector, images)
    _, last = _send(handlers, defect_image, state=ChatState(owner="t6"))
    chat, message, state, *_ = handlers.new_inspection(last[2])
    assert chat == [] and state.inspection_id is None and state.owner == "t6"
    assert handlers.inspections.cached(last[2]) is None and len(handlers.inspections) == 0


def test_operator_errors_show_on_the_error_line_and_keep_the_last_result(ui_inspector, defect_image, images,
                                                                          tmp_path):
    handlers = ChatHandlers(ui_inspector, images)
    _, error = _send(handlers, text="hello?", state=ChatState())
    assert "Attach an image of the part first" in error[9]["value"] and error[9]["visible"] is True
    assert error[1] == gr.skip() and error[0] == [] and "Upload, drop or paste" in error[4]
    _, good = _send(handlers, defect_image, state=ChatState(owner="t7"))
    state, card = good[2], good[4]
    assert good[9] == {"__type__": "update", "value": "", "visible": False}
    broken = tmp_path / "cut_off.png"
    broken.write_bytes(defect_image.read_bytes()[:400])
    steps, failed = _send(handlers, broken, state=state)
    assert "Gathering the evidence" in steps[0][4]                       # progress while it tries
    message = failed[9]["value"]
    assert literal("cut_off.png is truncated or corrupt") in message and str(tmp_path) not in message
    assert failed[4] == card and failed[0] == state.chat and len(state.chat) == 2      # the last verdict stays
    assert state.inspection_id == good[2].inspection_id and failed[1] == gr.skip()          # what was typed stays
    _, unknown = _send(handlers, defect_image, state=ChatState(), class_choice="no_such_class")
    assert "no references" in unknown[9]["value"]
    assert "no inspection" in list(handlers.look_closer(ChatState()))[-1][9]["value"]


def test_switches_become_this_requests_options():
    options = options_from(["rules"], 3, "contour")
    assert options == InspectOptions(class_context=False, rules=True, reference_images=3, overlay=False,
                                     overlay_style="contour")
    assert options.strategy_name.startswith("custom-")
    assert options_from(ALL_ON, 2, "heatmap").strategy_name == "overlay"


def test_with_a_model_the_switches_shape_the_prompt_and_follow_ups_stream(scripted_inspector, defect_image, images):
    handlers, backend = ChatHandlers(scripted_inspector, images), scripted_inspector.backend
    before = len(backend.calls)
    _, last = _send(handlers, defect_image, state=ChatState(owner="m1"), switches=["class context", "overlay"],
                    refs=1)
    prompt = backend.calls[before]["messages"]
    assert sum(len(m.images) for m in prompt) == 3            # 1 reference + the query + the overlay
    rules_intro = render("inspection", "rules_intro", class_name="brick")
    assert rules_intro not in " ".join(m.text for m in prompt) and "brick" in prompt[1].text
    raw = json.loads(last[8])
    assert raw["status"] == "ok" and raw["model"] == "scripted" and raw["correctness"] == 0
    assert "shown to model" in last[6][0][1] and "shown to model" not in last[6][1][1]
    assert scripted_inspector.config.vlm.reference_images == 2   # the shared config is untouched
    steps, after = _send(handlers, text="Where is it?", state=last[2])
    assert len(steps) > 3 and after[0][-1]["content"] == literal("The scratch runs from the lower left to the upper right.")


def test_a_class_without_rules_is_warned_about_in_the_rules_panel(private_inspector, texture_set, defect_image,
                                                                  images):
    from assistant.records.ingestion import images_in

    private_inspector.references.ingest([("brick_v2", p) for p in images_in(texture_set / "train")])
    _, last = _send(ChatHandlers(private_inspector, images), defect_image, state=ChatState(owner="t8"),
                    class_choice="brick_v2")
    assert "brick_v2 has no rules of its own" in last[7] and "Rules exist for brick" in last[7]
