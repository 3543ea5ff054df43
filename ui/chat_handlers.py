"""The chat's handlers: inspect an image, ask follow-ups, look closer, regenerate, start over.

Each is a thin adapter over the injected `Inspector`: it turns the chat input into a call and the result
into component values (in the order of `ui.chat_outputs`). An operator error shows on the error line and
leaves the last good result in place (`kept_on_error`).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import gradio as gr

from assistant.inspect_options import InspectOptions
from assistant.verdict import DEFAULT_QUESTION
from retrieval.errors import NormalcyError
from ui.chat_outputs import chat_outputs, kept_on_error
from ui.chat_state import ChatState
from ui.evidence_panel import (PanelValues, empty_panel, for_display, gathering_card, no_rules_warning, panel_for,
                               verdict_content)
from ui.inspection_cache import InspectionCache
from ui.inspector_queue import InspectorQueue
from ui.markdown_text import literal
from ui.operator_errors import Refused, shown_to_operator

SWITCHES = ("class context", "rules", "overlay")
AUTO_CLASS = "auto"


def options_from(switches, reference_count, overlay_style) -> InspectOptions:
    """The strategy switches of the form -> this request's options."""
    on = set(switches or ())
    return InspectOptions(class_context="class context" in on, rules="rules" in on,
                          reference_images=int(reference_count or 0), overlay="overlay" in on,
                          overlay_style=overlay_style or "heatmap")


def class_choices(inspector) -> list[tuple[str, str]]:
    """The class selector: "auto" first, then every class in the store with its number of references."""
    return [("auto (nearest class)", AUTO_CLASS)] + [(f"{name} ({n} references)", name)
                                                     for name, n in inspector.classes().items()]


class ChatHandlers:
    def __init__(self, inspector, images, queue: InspectorQueue | None = None,
                 inspections: InspectionCache | None = None):
        """images: the `ImageFolder` every image shown in the browser is published to; queue: the
        `InspectorQueue` whose lock the parts that touch the Inspector's stores and model hold;
        inspections: the sessions' inspections (`InspectionCache`, shared with the other tabs' handlers)."""
        self.inspector = inspector
        self.images = images
        self.queue = queue or InspectorQueue()
        self.inspections = InspectionCache(inspector) if inspections is None else inspections

    def start_session(self, browser_id, request: gr.Request = None):
        """Page load: this session's state, owned by the logged-in user or this browser's id (kept in its
        local storage, so History survives a restart), and the current class list."""
        browser_id = browser_id or uuid.uuid4().hex
        state = ChatState(owner=f"browser:{browser_id}")
        state.owner_for(request)
        return state, browser_id, gr.update(choices=class_choices(self.inspector))

    def panel(self, evidence, verdict: dict | None, options) -> PanelValues:
        with_rules = {rule.class_name for rule in self.inspector.rule_book.list()}
        missing = "" if evidence.class_name in with_rules else no_rules_warning(evidence.class_name, with_rules)
        return panel_for(evidence, verdict, options, self.images, self.inspector.reference_copies,
                         self.inspector.model_id(), missing)

    @kept_on_error
    def send_message(self, message, state, class_choice, switches, reference_count, overlay_style,
                     request: gr.Request = None):
        """An image starts a new inspection (its text is the question); text alone is a follow-up. Wired
        without `queue.serial`: an upload is decoded before the inspection takes the lock."""
        state = state or ChatState()
        files = list((message or {}).get("files") or [])
        text = ((message or {}).get("text") or "").strip()
        if files:
            options = options_from(switches, reference_count, overlay_style)
            yield from self._inspect(files[-1], text or None, state, class_choice, options, request)
        elif state.inspection_id is not None and text:
            with self.queue.lock:
                yield from self._ask(text, state, self.inspections.get(state))
        elif not text:
            yield chat_outputs(state)             # an empty send (e.g. the browser refused the file): nothing to do
        else:
            raise Refused("Attach an image of the part first (drop, paste or the clip button), then ask "
                          "follow-up questions about it.")

    def _inspect(self, path, question, state, class_choice, options, request):
        """The new inspection replaces the session's only once its verdict is in; until then (and when the
        file cannot be read) the last good one stays."""
        chat = [{"role": "user", "content": [{"path": path}, literal(question or DEFAULT_QUESTION)]}]
        yield chat_outputs(state, "", empty_panel(gathering_card()), clear_message=True, chat=chat)
        try:
            query = self.inspector.load(path, class_name=class_choice or AUTO_CLASS)   # decoded outside the lock
        except NormalcyError as exc:
            raise type(exc)(named_as_chosen(str(exc), path)) from None
        with self.queue.lock:
            yield from self._gather_and_conclude(path, query, question, state, chat, class_choice, options, request)

    def _gather_and_conclude(self, path, query, question, state, chat, class_choice, options, request):
        try:
            class_name, note = self.pick_class(query, class_choice)
            evidence = self.inspector.gather(query, class_name, question, options)
        except NormalcyError as exc:
            raise type(exc)(named_as_chosen(str(exc), path)) from None
        chat.append({"role": "assistant", "content": f"{note}\n\nEvidence gathered; reading it…"})
        yield chat_outputs(state, note, self.panel(evidence, None, options), chat=chat)
        inspection = self.inspector.conclude(evidence, question, options=options, owner=state.owner_for(request))
        record = inspection.record
        self.inspections.start(state, inspection, record, options, note)
        chat[-1] = {"role": "assistant", "content": verdict_content(record["verdict"], note, self._sheet(evidence))}
        state.chat, state.panel = chat, self.panel(evidence, record["verdict"], options)
        yield chat_outputs(state, note, state.panel)

    def _sheet(self, evidence) -> str | None:
        """A video's frame sheet or a point cloud's views published for the chat (None for other inputs)."""
        return None if evidence.sheet is None else self.images.publish(evidence.sheet.image)

    def pick_class(self, source, class_choice) -> tuple[str, str]:
        """(class, note): the chosen class, or for "auto" the nearest class by image embedding (a point
        cloud or series: the class it was rendered for, named with the file it is a render of)."""
        rendered = getattr(source, "rendered", None)
        if rendered is not None:
            how = "auto → " if class_choice in (None, "", AUTO_CLASS) else ""
            kind = rendered.modality.replace("_", " ")
            return rendered.class_name, (f"Class: {how}**{literal(rendered.class_name)}** · inspected the {kind} "
                                         f"render of **{literal(rendered.source_name)}**")
        if class_choice and class_choice != AUTO_CLASS:
            return class_choice, f"Class: **{literal(class_choice)}**"
        class_name, similarity = self.inspector.guess_class(source)
        return class_name, f"Class: auto → **{literal(class_name)}** (nearest references, similarity {similarity:.2f})"

    def _ask(self, question, state, inspection):
        state.chat += [{"role": "user", "content": literal(question)}, {"role": "assistant", "content": ""}]
        state.last_action = "ask"
        answer = ""
        for delta in self.inspector.ask(inspection, question):
            answer += delta
            state.chat[-1] = {"role": "assistant", "content": literal(answer)}
            yield chat_outputs(state, clear_message=True)
        shown = [{"path": self.images.publish(picture)} for _, picture in
                 self.inspector.follow_up_images(inspection, question)]
        if shown or not answer:
            state.chat[-1] = {"role": "assistant", "content": [literal(answer) if answer else "(no answer)", *shown]}
            yield chat_outputs(state, clear_message=True)

    @kept_on_error
    def look_closer(self, state):
        """Zoom into the hottest region and ask about it; the crop joins the chat (and the model's context)."""
        yield from self._look(state, self._current(state))

    def _look(self, state, inspection):
        box, crop = self.inspector.focus_crop(inspection)
        state.chat += [{"role": "user", "content": [{"path": self.images.publish(crop)},
                                                    f"Look closer at the region {box}."]},
                       {"role": "assistant", "content": "Looking closer…"}]
        yield chat_outputs(state)
        state.chat[-1] = {"role": "assistant", "content": literal(self.inspector.look_closer(inspection))}
        state.last_action = "look"
        yield chat_outputs(state)

    @kept_on_error
    def regenerate(self, state, switches, reference_count, overlay_style, request: gr.Request = None):
        """Re-run the last answer, or the verdict (re-gathered with the current switches)."""
        inspection = self._current(state)
        if state.last_action in ("ask", "look") and inspection.turns:
            question, _ = self.inspector.retract_last_turn(inspection)
            state.chat = state.chat[:-2]
            yield from (self._look(state, inspection) if state.last_action == "look" else
                        self._ask(question, state, inspection))
            return
        options = options_from(switches, reference_count, overlay_style)
        evidence = self.inspector.gather(inspection.evidence.query, inspection.evidence.class_name,
                                         inspection.question, options)
        new = self.inspector.conclude(evidence, inspection.question, options=options, owner=state.owner_for(request))
        record = new.record
        first = state.chat[:1]
        self.inspections.start(state, new, record, options, state.class_note)
        state.chat = first + [{"role": "assistant", "content": verdict_content(record["verdict"], state.class_note,
                                                                                self._sheet(evidence))}]
        state.panel = self.panel(evidence, record["verdict"], options)
        yield chat_outputs(state, panel=state.panel)

    def new_inspection(self, state):
        """Start over: an empty chat and panel (the finished inspection stays in History)."""
        state = state or ChatState()
        self.inspections.release(state)
        state.clear()
        return chat_outputs(state, "", empty_panel(), clear_message=True)

    @shown_to_operator
    def show_overlay(self, overlay_style, state, which="fused"):
        """Redraw the current inspection's overlay in another style, of another of its maps (`which`: a key
        of `Evidence.maps()`; one the inspection lacks draws the fused map). Runs alongside: it takes the
        Inspector lock only if the inspection has to be reopened."""
        inspection = self.inspections.get(state, lock=self.queue.lock)
        if inspection is None:
            return gr.skip()
        evidence = inspection.evidence
        shown = which if which == "few_shot" or (which == "text" and evidence.text_grid is not None) else "fused"
        return self.images.publish(for_display(evidence.overlay(overlay_style or "heatmap", shown)))

    def _current(self, state):
        """The session's inspection (the caller holds the Inspector lock), or an operator error."""
        inspection = self.inspections.get(state)
        if inspection is None:
            raise Refused(NO_INSPECTION)
        return inspection


NO_INSPECTION = "There is no inspection in this session yet; attach an image of a part first."


def named_as_chosen(message: str, path) -> str:
    """An error about an uploaded file names the file the operator chose, not the server's copy of it
    (Gradio keeps the chosen name as the copy's file name)."""
    name = Path(str(path)).name
    for copy in sorted({str(Path(str(path)).resolve()), str(path)}, key=len, reverse=True):
        message = message.replace(copy, name)
    return message
