"""The History tab: past inspections from the run log (a thumbnail, time, class, verdict, score, file,
feedback), and reopening one — after a restart too — with its image, overlay, verdict and turns, ready for
follow-ups.

Who sees what (`HistoryView.viewer`): an engineer sees every inspection in the home — so does the one local
user of an app without logins (an engineer, ui/roles.py), from any browser and any earlier session; an
operator login sees all of its own inspections, from any browser, and no other login's. Engineers see
everyone's because reviewing the operators' verdicts and feedback is their job.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import gradio as gr

from assistant.inspect_options import InspectOptions
from assistant.verdict import DEFAULT_QUESTION, score_in_words
from retrieval.errors import NormalcyError
from ui.chat_outputs import chat_outputs
from ui.chat_state import ChatState
from ui.evidence_panel import PanelValues, for_display, gallery_items, rules_table, verdict_card, verdict_content
from ui.inspection_cache import InspectionCache
from ui.inspector_queue import InspectorQueue
from ui.markdown_text import literal
from ui.operator_actions import feedback_words
from ui.operator_errors import OPERATOR_ERRORS, Refused, warning

COLUMNS = ["image", "time", "id", "class", "verdict", "score", "status", "turns", "file", "feedback"]
THUMB_PX = 96            # a thumbnail's longer side: a 1,000-row list stays a few MB


@lru_cache(maxsize=2048)
def thumbnail(path: str) -> str:
    """A logged image -> an <img> of it as a JPEG data URL at most THUMB_PX on a side (a few kB; "" when the
    file is gone). The cell's only markup is this tag (no text from data); nothing is fetched from anywhere.
    Cached by path: logged images are named by their sha256, so a path's content never changes."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.draft("RGB", (THUMB_PX, THUMB_PX))
            small = image.convert("RGB")
    except OSError:
        return ""
    small.thumbnail((THUMB_PX, THUMB_PX))
    data = io.BytesIO()
    small.save(data, "JPEG", quality=80)
    encoded = base64.b64encode(data.getvalue()).decode("ascii")
    return (f'<img src="data:image/jpeg;base64,{encoded}" alt="thumbnail" width="{small.width}" '
            f'height="{small.height}" class="nc-thumb">')


def line(listed, image_path=None) -> dict:
    """One row of the list: the thumbnail (with `image_path`: sha256 -> the logged file), the logged
    summary, the score in words, the chosen file's name and the standing (latest) feedback."""
    given, summary = listed.standing_feedback, listed.summary()
    shown = thumbnail(str(image_path(listed.image))) if image_path and listed.image else ""
    return {**summary, "image": shown, "score": score_in_words(summary["score"]), "file": Path(listed.source).name,
            "feedback": feedback_words(given["rating"], given.get("label")) if given else ""}


class HistoryView:
    def __init__(self, inspector, images, roles=None, inspections: InspectionCache | None = None):
        """roles: the app's `Roles` (None: no logins, the one local user is an engineer); inspections: the
        sessions' inspections (`InspectionCache`, shared with the chat)."""
        self.inspector = inspector
        self.images = images
        self.roles = roles
        self.inspections = InspectionCache(inspector) if inspections is None else inspections

    def viewer(self, state, request) -> str | None:
        """Whose inspections this request may list and reopen: None (all of them) for an engineer, else
        the login's own (`ChatState.owner_for`)."""
        role = self.roles.of(request) if self.roles is not None else "engineer"
        return None if role == "engineer" else state.owner_for(request)

    def list_history(self, state, request: gr.Request = None):
        """The past inspections this request may see (`viewer`), newest first, and the picker to reopen one."""
        state = state or ChatState()
        past = self.inspector.history.list(self.viewer(state, request))
        lines = [line(p, self.inspector.history.image_path) for p in past]
        rows = [[s[column] for column in COLUMNS] for s in lines]
        choices = [(f"{s['time']} · {s['file']} · {s['class']} · {s['verdict']} · {s['id']}", s["id"]) for s in lines]
        return rows, gr.update(choices=choices, value=choices[0][1] if choices else None), state

    def reopen_inspection(self, inspection_id, state, request: gr.Request = None):
        """Load a past inspection into the chat: its image, overlay, verdict and turns as logged; its evidence
        is re-gathered from the stored image for follow-ups (if that fails, it opens read-only, saying why).
        An operator error shows on this tab's error line; the chat keeps the inspection it had."""
        state = state or ChatState()
        try:
            return (*self._reopen(inspection_id, state, request), gr.update(value="", visible=False))
        except OPERATOR_ERRORS as exc:
            return (*(gr.skip(),) * (len(chat_outputs(state)) + 1), gr.update(value=warning(exc), visible=True))

    def _reopen(self, inspection_id, state, request):
        if not inspection_id:
            raise Refused("Pick an inspection from the list first.")
        owner = self.viewer(state, request)
        past = self.inspector.history.get(inspection_id, owner)
        record, note = past.record, f"Reopened inspection {literal(inspection_id)} from {literal(past.record['time'])}"
        if record.get("source_name"):          # a render: say of which file, as the chat said when it was new
            kind = str(record.get("modality", "")).replace("_", " ")
            note = f"{note} · the {literal(kind)} render of **{literal(record['source_name'])}**"
        try:
            inspection = self.inspector.reopen(inspection_id, owner)
        except NormalcyError as exc:
            inspection, note = None, f"{note} (read-only, no follow-ups: {literal(exc)})"
        logged = record.get("options")
        options = InspectOptions.from_dict(logged) if logged else InspectOptions.from_config(self.inspector.config)
        self.inspections.start(state, inspection, record, options, note)
        state.last_action = "ask" if past.turns else "verdict"
        state.chat = self._chat(record, past.turns, note, inspection)
        state.panel = self._panel(record, options)
        return (*chat_outputs(state, note, state.panel, clear_message=True), gr.Tabs(selected="inspect"))

    def _logged_image(self, sha256: str) -> dict:
        return {"path": self.images.publish_file(self.inspector.history.image_path(sha256), f"logged-{sha256}.png")}

    def _logged_sheet(self, record) -> str | None:
        """An inspection's logged sheet (a video's frames, a point cloud's views) published for the chat (None:
        none was kept, or it was pruned)."""
        sha = record.get("frame_sheet")
        if not sha or not self.inspector.history.image_path(sha).is_file():
            return None
        return self._logged_image(sha)["path"]

    def _chat(self, record, turns, note, inspection=None) -> list[dict]:
        """The logged chat; with the re-gathered `inspection`, the look-closer crops and the follow-ups' images
        are drawn again (from the same evidence, so they are the ones first shown)."""
        question = record.get("question") or DEFAULT_QUESTION
        chat = [{"role": "user", "content": [self._logged_image(record["image"]), literal(question)]},
                {"role": "assistant", "content": verdict_content(record["verdict"], note, self._logged_sheet(record))}]
        for asked, answer in turns:
            looked = asked.lower().startswith(("look closer", "[look closer")) and inspection is not None
            crop = [{"path": self.images.publish(self.inspector.focus_crop(inspection)[1])}] if looked else []
            shown = [] if looked or inspection is None else [
                {"path": self.images.publish(image)} for _, image in self.inspector.follow_up_images(inspection, asked)]
            chat += [{"role": "user", "content": [*crop, literal(asked)] if crop else literal(asked)},
                     {"role": "assistant", "content": [literal(answer), *shown] if shown else literal(answer)}]
        return chat

    def _panel(self, record, options) -> PanelValues:
        """The evidence panel as logged: verdict, overlay (all styles), references and rules of the verdict."""
        from PIL import Image

        verdict = record["verdict"]
        with Image.open(self.inspector.history.image_path(record["overlay"])) as logged:
            overlay = self.images.publish(for_display(logged.convert("RGB")))
        shown = options.reference_images if verdict.get("model") else None
        gallery = gallery_items(verdict["references"], self.inspector.reference_copies, shown, self.images)
        return PanelValues(verdict_card(verdict), overlay, gallery, rules_table(verdict["rules"]), verdict)


def build_history_tab() -> SimpleNamespace:
    ui = SimpleNamespace()
    ui.refresh = gr.Button("Refresh", size="sm", elem_id="history-refresh")
    ui.table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, elem_id="history-table",
                            datatype=["html"] + ["str"] * (len(COLUMNS) - 1),
                            column_widths=["8%", "12%", "9%", "8%", "8%", "13%", "8%", "5%", "13%", "16%"])
    with gr.Row():
        ui.pick = gr.Dropdown([], label="Inspection", scale=4, elem_id="history-pick")
        ui.reopen = gr.Button("Reopen", variant="primary", scale=1, elem_id="history-reopen")
    ui.error = gr.Markdown(visible=False, elem_id="history-error", elem_classes=["nc-error"])
    return ui


def wire_history_tab(view: HistoryView, ui: SimpleNamespace, tab, state, chat_components, tabs,
                     queue: InspectorQueue):
    """-> the reopen event."""
    listing = dict(fn=view.list_history, inputs=state, outputs=[ui.table, ui.pick, state])
    ui.refresh.click(**listing)
    tab.select(**listing, api_visibility="private")
    return ui.reopen.click(queue.serial(view.reopen_inspection), [ui.pick, state], [*chat_components, tabs, ui.error])
