"""What the operator does with a finished inspection: rate it (with a correction), accept the image as
normal (after an explicit confirmation), export it as a self-contained HTML report."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ui.chat_handlers import class_choices
from ui.inspection_report import render_report
from ui.markdown_text import literal
from ui.operator_errors import Refused, in_line

NO_LABEL = "no correction"


def _inspection(state):
    if state is None or state.inspection is None:
        raise Refused("There is no inspection in this session yet; attach an image of a part first.")
    return state.inspection


class OperatorActions:
    def __init__(self, inspector, report_dir: Path):
        self.inspector = inspector
        self.report_dir = Path(report_dir)

    @in_line(lambda message: message)
    def thumbs_up(self, label, comment, state) -> str:
        """The verdict is right (optionally with a comment)."""
        return self._feedback("up", label, comment, state)

    @in_line(lambda message: message)
    def thumbs_down(self, label, comment, state) -> str:
        """The verdict is wrong; the label says what the part really is."""
        return self._feedback("down", label, comment, state)

    def _feedback(self, rating: str, label, comment, state) -> str:
        inspection = _inspection(state)
        label = None if not label or label == NO_LABEL else label
        self.inspector.feedback(inspection.id, rating, label, comment or "")
        correction = f", corrected label: {literal(label)}" if label else ""
        verdict = "correct" if rating == "up" else "wrong"
        return f"Feedback saved for inspection `{inspection.id}` (verdict {verdict}{correction})."

    @in_line(lambda message: (gr.update(visible=False), message))
    def request_accept(self, state):
        """First step of "accept as normal": say what will happen and show the confirmation buttons."""
        inspection = _inspection(state)
        class_name = inspection.evidence.class_name
        text = (f"Add this image to the normal references of **{literal(class_name)}**? The class is recalibrated, "
                "so parts that look like it will pass from now on.")
        return gr.update(visible=True), text

    @in_line(lambda message: (gr.update(visible=False), message, gr.skip()))
    def confirm_accept(self, state):
        """Second step: ingest the image as a reference, recalibrate, show the new threshold."""
        addition = self.inspector.accept_as_normal(_inspection(state))
        return gr.update(visible=False), addition.summary(), gr.update(choices=class_choices(self.inspector))

    def cancel_accept(self):
        return gr.update(visible=False), "Nothing was added."

    @in_line(lambda message: (gr.skip(), message))
    def export_report(self, state):
        """The inspection as one HTML file (images embedded), offered as a download (and the status line)."""
        inspection = _inspection(state)
        style = getattr(state.options, "overlay_style", None) or "all"
        html = render_report(inspection, state.record or {"id": inspection.id, "time": ""},
                             self.inspector.reference_dir, style)
        self.report_dir.mkdir(parents=True, exist_ok=True)
        path = self.report_dir / f"normalcy-inspection-{inspection.id}.html"
        path.write_text(html, encoding="utf-8")
        return gr.update(value=str(path), visible=True), gr.skip()
