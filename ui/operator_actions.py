"""What the operator does with a finished inspection: rate it (with a correction), accept the image as
normal (after an explicit confirmation), say by text what is acceptable here (a normality), export it as a
self-contained HTML report.

The buttons are live only while the session has an inspection (`availability`), and every handler checks
again on the server. An inspection has one standing feedback: the latest one given, which the status
line names (and says what it replaced); a correction that contradicts the rating is refused."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from assistant.verdict import verdict_label
from retrieval.errors import NormalcyError
from ui.chat_handlers import NO_INSPECTION, class_choices
from ui.inspection_cache import InspectionCache
from ui.inspector_queue import InspectorQueue
from ui.inspection_report import render_report
from ui.markdown_text import literal
from ui.operator_errors import Refused, in_line
from ui.roles import Roles

NO_LABEL = "no correction"


def feedback_words(rating: str, label: str | None) -> str:
    words = "verdict correct" if rating == "up" else "verdict wrong"
    return f"{words}, corrected label: {literal(label)}" if label else words


def check_consistent(rating: str, label: str | None, verdict: str) -> None:
    """Refuse feedback that contradicts itself: "wrong, really normal" on a PASS, "correct, really defective" on
    a PASS (and the same for FAIL). A verdict held for review has no label to contradict."""
    said = {"PASS": "normal", "FAIL": "defective"}.get(verdict)
    if label is None or said is None:
        return
    if rating == "down" and label == said:
        raise Refused(f"The verdict is {verdict}, which already says {said}; \"wrong, corrected label: {label}\" "
                      f"contradicts it. Pick the label the part really has, or press ✓ Correct.")
    if rating == "up" and label != said:
        raise Refused(f"The verdict is {verdict} ({said}); \"correct\" with the label {label} contradicts it. "
                      "Press ✗ Wrong to correct it.")


def _inspection_id(state) -> str:
    if state is None or state.inspection_id is None:
        raise Refused(NO_INSPECTION)
    return state.inspection_id


class OperatorActions:
    def __init__(self, inspector, report_dir: Path, roles: Roles | None = None,
                 inspections: InspectionCache | None = None, queue: InspectorQueue | None = None):
        """inspections: the sessions' inspections (shared with the chat); queue: the Inspector lock's, taken
        by a handler that runs alongside only when it must reopen an evicted inspection."""
        self.inspector = inspector
        self.report_dir = Path(report_dir)
        self.roles = roles or Roles()
        self.inspections = InspectionCache(inspector) if inspections is None else inspections
        self.queue = queue or InspectorQueue()

    def _inspection(self, state, locked: bool = False):
        """The session's inspection, reopened from the run log if evicted (locked: the caller holds the lock)."""
        _inspection_id(state)
        return self.inspections.get(state, lock=None if locked else self.queue.lock)

    @in_line(lambda message: message)
    def thumbs_up(self, label, comment, state) -> str:
        """The verdict is right (optionally with a comment)."""
        return self._feedback("up", label, comment, state)

    @in_line(lambda message: message)
    def thumbs_down(self, label, comment, state) -> str:
        """The verdict is wrong; the label says what the part really is."""
        return self._feedback("down", label, comment, state)

    def _feedback(self, rating: str, label, comment, state) -> str:
        inspection_id = _inspection_id(state)
        label = None if not label or label == NO_LABEL else label
        check_consistent(rating, label, verdict_label(state.record["verdict"]))
        before = self.standing(state)
        self.inspector.feedback(inspection_id, rating, label, comment or "")
        replaced = f" It replaces the earlier feedback ({before[0]})." if before else ""
        return f"Feedback standing for inspection `{inspection_id}`: **{feedback_words(rating, label)}**.{replaced}"

    def standing(self, state) -> tuple[str, dict] | None:
        """(words, record) of the inspection's standing feedback (the latest), or None."""
        inspection_id = getattr(state, "inspection_id", None)
        if inspection_id is None:
            return None
        try:
            given = self.inspector.history.get(inspection_id, state.owner).feedback
        except NormalcyError:       # not this owner's logged inspection (e.g. opened read-only): none to show
            return None
        return (feedback_words(given[-1]["rating"], given[-1].get("label")), given[-1]) if given else None

    def availability(self, state):
        """The action buttons (and "Acceptable here") live only with an inspection; the status line shows its standing feedback; when
        the inspection changes (or ends), the correction, the comment and the last report are cleared."""
        current = getattr(state, "inspection_id", None)
        live = gr.update(interactive=current is not None)
        standing = self.standing(state)
        status = f"Feedback standing for inspection `{current}`: **{standing[0]}**." if standing else ""
        fresh = state is not None and current != state.actions_for
        if fresh:
            state.actions_for = current
        reset = (NO_LABEL, "", gr.update(value=None, visible=False)) if fresh else (gr.skip(),) * 3
        return live, live, live, live, live, status, *reset

    @in_line(lambda message: (gr.update(visible=False), message))
    def request_accept(self, state, request: gr.Request = None):
        """First step of "accept as normal" (engineers only): say what will happen, show the confirmation."""
        self.roles.require_engineer(request, "accept an image as normal")
        _inspection_id(state)
        class_name = state.record["class"]
        text = (f"Add this image to the normal references of **{literal(class_name)}**? The class is recalibrated, "
                "so parts that look like it will pass from now on.")
        return gr.update(visible=True), text

    @in_line(lambda message: (gr.update(visible=False), message, gr.skip()))
    def confirm_accept(self, state, request: gr.Request = None, progress=gr.Progress(track_tqdm=True)):
        """Second step: ingest the image as a reference, recalibrate, show the new threshold (`progress`
        shows the ingest and, with a CLAD text map, the class's heads training)."""
        self.roles.require_engineer(request, "accept an image as normal")
        addition = self.inspector.accept_as_normal(self._inspection(state, locked=True))
        return gr.update(visible=False), addition.summary(), gr.update(choices=class_choices(self.inspector))

    def cancel_accept(self):
        return gr.update(visible=False), "Nothing was added."

    @in_line(lambda message: message)
    def acceptable_here(self, text, state, request: gr.Request = None) -> str:
        """"Acceptable here?" (engineers only): the typed appearance becomes a normality of the inspection's
        class (it suppresses the map where the class's text space sees it; an accepted-noise rule too), and the
        image is scored again: the status line shows its anomaly score before and after."""
        self.roles.require_engineer(request, "add a normality")
        inspection = self._inspection(state, locked=True)
        evidence = inspection.evidence
        who = getattr(request, "username", None) or "local engineer"
        change = self.inspector.normalities.add(text, evidence.class_name, who)
        rescored = self.inspector.gather(evidence.query, evidence.class_name, inspection.question)
        return (f"Added normality `{change.normality.id}` to **{literal(evidence.class_name)}**: "
                f"{literal(change.normality.text)}. Anomaly score of this image: {evidence.anomaly_score:.3f} -> "
                f"{rescored.anomaly_score:.3f} (↻ Regenerate gives the new verdict; `normalcy normal remove "
                f"{change.normality.id}` undoes it).")

    @in_line(lambda message: (gr.skip(), message))
    def export_report(self, state, overlay_style=None):
        """The inspection as one HTML file (images embedded), offered as a download (and the status line):
        with its standing feedback, the look-closer crops and the overlay style now selected."""
        inspection = self._inspection(state)
        style = overlay_style or getattr(state.options, "overlay_style", None) or "all"
        standing = self.standing(state)
        crop = self.inspector.focus_crop(inspection)
        html = render_report(inspection, state.record or {"id": inspection.id, "time": ""},
                             self.inspector.reference_copies, style, feedback=standing[1] if standing else None,
                             crop=crop)
        self.report_dir.mkdir(parents=True, exist_ok=True)
        path = self.report_dir / f"normalcy-inspection-{inspection.id}.html"
        path.write_text(html, encoding="utf-8")
        return str(path), gr.skip()
