"""Operator actions over a real Inspector: feedback stored with the record, accept-as-normal behind a
confirmation, the HTML report self-contained, the rule editor, and History isolated per owner."""

import json
import re

import gradio as gr
import pytest
import yaml
from PIL import Image

from assistant.config import NormalcyConfig
from assistant.inspector import Inspector
from assistant.verdict import verdict_label
from ui.chat_handlers import ChatHandlers
from ui.chat_state import ChatState
from ui.history_tab import COLUMNS, HistoryView
from ui.markdown_text import literal
from ui.operator_actions import OperatorActions
from ui.rules_tab import RuleEditor


def _inspect(inspector, images, image, owner, text="is it cracked?"):
    message = {"text": text, "files": [str(image)]}
    last = list(ChatHandlers(inspector, images).send_message(message, ChatState(owner=owner), "brick",
                                                     ["class context", "rules", "overlay"], 2, "heatmap"))[-1]
    return last[0], last[2]


def _ask(inspector, images, state, text):
    message = {"text": text, "files": []}
    return list(ChatHandlers(inspector, images).send_message(message, state, "brick", [], 0, "heatmap"))


def _answers(inspector, inspection_id):
    return [r["answer"] for r in inspector.log.records() if r["kind"] == "turn" and r["inspection"] == inspection_id]


def test_feedback_is_appended_to_the_run_log_with_the_inspection_id(ui_inspector, defect_image, tmp_path, images):
    _, state = _inspect(ui_inspector, images, defect_image, "fb")
    actions = OperatorActions(ui_inspector, tmp_path)
    assert "verdict wrong, corrected label: normal" in actions.thumbs_down("normal", " only dust ", state)
    assert "verdict correct" in actions.thumbs_up("no correction", "", state)
    feedback = [r for r in ui_inspector.log.records() if r["kind"] == "feedback" and r["inspection"] ==
                state.inspection_id]
    assert [(f["rating"], f["label"], f["comment"]) for f in feedback] == [("down", "normal", "only dust"),
                                                                          ("up", None, "")]
    assert "no inspection" in actions.thumbs_up("normal", "", ChatState())


def test_accept_as_normal_asks_first_then_adds_and_recalibrates(private_inspector, defect_image, tmp_path, images):
    _, state = _inspect(private_inspector, images, defect_image, "acc")
    actions = OperatorActions(private_inspector, tmp_path)
    before = private_inspector.classes()["brick"]
    row, question = actions.request_accept(state)
    assert row["visible"] is True and "brick" in question and private_inspector.classes()["brick"] == before
    assert actions.cancel_accept()[1] == "Nothing was added."
    row, summary, choices = actions.confirm_accept(state)
    assert row["visible"] is False and private_inspector.classes()["brick"] == before + 1
    assert re.search(r"Threshold recalibrated: [\d.]+ -> [\d.]+", summary)
    assert any(f"{before + 1} references" in label for label, _ in choices["choices"])
    again = actions.confirm_accept(state)[1]
    assert "already a normal reference" in again
    rescored = json.loads(list(ChatHandlers(private_inspector, images).regenerate(state, ["rules"], 0, "all"))[-1][8])
    assert rescored["anomaly_score"] < 0.5, "the accepted image is now its own nearest reference"


def test_the_report_is_self_contained_html(ui_inspector, defect_image, tmp_path, images):
    _, state = _inspect(ui_inspector, images, defect_image, "rep", text="is the <mortar> cracked?")
    _ask(ui_inspector, images, state, "where exactly?")
    path = OperatorActions(ui_inspector, tmp_path).export_report(state)[0]
    html = open(path, encoding="utf-8").read()
    assert not re.search(r"https?://|src=\"(?!data:)|href=", html), "no external or relative URL"
    assert html.count("data:image/png;base64,") >= 2 + len(state.record["verdict"]["references"])
    assert "is the &lt;mortar&gt; cracked?" in html and "where exactly?" in html
    for expected in (state.inspection_id, ui_inspector.workspace.encoder.id, state.record["config_hash"],
                     verdict_label(state.record["verdict"]), "none (vision-only)"):
        assert expected in html


def test_rule_editor_adds_edits_and_deletes_operator_rules_only(private_inspector):
    editor = RuleEditor(private_inspector)
    table, picker = editor.list_rules("brick")
    assert "shipped (read-only)" in table and [c[1] for c in picker["choices"]] == [""]
    status, table, picker = editor.save_rule("", "brick", "A chipped corner is a defect.", "defect", "major")
    rule_id = picker["value"]
    assert rule_id == "brick-defect-local-1" and "operator (editable)" in table
    assert editor.pick_rule(rule_id, "brick") == ("A chipped corner is a defect.", "defect", "major")
    editor.save_rule(rule_id, "brick", "A chipped corner over 2 mm is a defect.", "defect", "critical")
    local = yaml.safe_load((private_inspector.home.rules / "local.yaml").read_text())["rules"]
    assert local == [{"id": rule_id, "class": "brick", "kind": "defect", "severity": "critical",
                      "text": "A chipped corner over 2 mm is a defect."}]
    stored = {r.id: r for r in private_inspector.workspace.rules.list("brick")}
    assert stored[rule_id].severity == "critical"
    assert literal("read-only") in editor.delete_rule("brick-defect-scratch", "brick")[0]
    editor.delete_rule(rule_id, "brick")
    assert rule_id not in {r.id for r in private_inspector.workspace.rules.list("brick")}


def _thumbnail(cell: str):
    import base64
    import io

    found = re.fullmatch(r'<img src="data:image/jpeg;base64,([^"]+)" alt="thumbnail" .*>', cell)
    return Image.open(io.BytesIO(base64.b64decode(found.group(1))))


def test_history_shows_everyone_without_logins_and_a_logins_own_with_them(private_inspector, defect_image,
                                                                          good_image, images):
    """Issue 13 item 7 (replaces "a session sees only its own"): without logins the one local user sees
    every inspection from any browser; an operator login sees its own only; an engineer login sees all."""
    from types import SimpleNamespace

    from ui.roles import Roles

    _, mine = _inspect(private_inspector, images, defect_image, "user:olga")
    _ask(private_inspector, images, mine, "where?")
    _, theirs = _inspect(private_inspector, images, good_image, "user:otto")
    restarted = Inspector(NormalcyConfig(), private_inspector.home)       # a new process would do the same
    both = [theirs.inspection_id, mine.inspection_id]
    rows, _, _ = HistoryView(restarted, images).list_history(ChatState(owner="browser:another"))
    assert [row[2] for row in rows][:2] == both           # newest first; the copied home may hold older ones
    assert max(_thumbnail(rows[1][0]).size) <= 96 and rows[1][COLUMNS.index("file")] == defect_image.name
    view = HistoryView(restarted, images, Roles({"olga": "operator", "otto": "operator", "emil": "engineer"}))
    olga, emil = SimpleNamespace(username="olga"), SimpleNamespace(username="emil")
    rows, picker, _ = view.list_history(ChatState(owner="browser:alice"), olga)
    assert [row[2] for row in rows] == [mine.inspection_id] and picker["value"] == mine.inspection_id
    assert [row[2] for row in view.list_history(ChatState(), emil)[0]][:2] == both
    refused = view.reopen_inspection(theirs.inspection_id, ChatState(owner="browser:alice"), olga)
    assert "no inspection" in refused[-1]["value"]
    reopened = view.reopen_inspection(mine.inspection_id, ChatState(owner="browser:alice"), olga)
    chat, _, state, note, card, overlay, gallery, rules, raw, _, tabs, _ = reopened
    assert Image.open(chat[0]["content"][0]["path"]).size == Image.open(defect_image).size
    text, crop = chat[-1]["content"]                  # "where?": the answer and its crop, drawn again
    assert text == literal(_answers(restarted, mine.inspection_id)[0]) and Image.open(crop["path"]).size[0] >= 320
    assert json.loads(raw) == mine.record["verdict"] and "Reopened inspection" in note
    assert state.last_action == "ask"
    follow = _ask(restarted, images, state, "and now?")[-1]
    assert follow[0][-1]["content"] and len(follow[0]) == len(chat) + 2
    turns = [r for r in restarted.log.records() if r["kind"] == "turn" and r["inspection"] == mine.inspection_id]
    assert [t["question"] for t in turns] == ["where?", "and now?"]


def test_a_past_inspection_opens_read_only_when_its_evidence_cannot_be_gathered(private_inspector, defect_image,
                                                                               images):
    _, mine = _inspect(private_inspector, images, defect_image, "browser:carol")
    references = private_inspector.workspace.references
    references.remove(references.of_class("brick"))
    view = HistoryView(Inspector(NormalcyConfig(), private_inspector.home), images)
    reopened = view.reopen_inspection(mine.inspection_id, ChatState(owner="browser:carol"))
    chat, _, state, note, card, overlay, gallery, rules, raw, *_ = reopened
    assert "read-only" in note and "store" in note and state.inspection_id is None
    assert json.loads(raw) == mine.record["verdict"] and Image.open(overlay).size[0] >= 320 and gallery
    assert "Attach an image of the part first" in _ask(private_inspector, images, state, "still there?")[-1][9]["value"]
