"""The values every chat handler returns (or yields), in this order: chatbot, message box, session state,
class note, the evidence panel (card, overlay, gallery, rules, raw JSON), then the error line.
`gr.skip()` leaves a component as it is.

`kept_on_error` wraps a streaming chat handler: an operator error (bad file, nothing to follow up yet …)
puts the transcript, the class note and the panel back to the last good inspection, keeps what the
operator typed in the message box, and shows the one error line — instead of failing every output.
"""

from __future__ import annotations

import functools
import inspect

import gradio as gr

from ui.chat_state import ChatState
from ui.evidence_panel import PanelValues, empty_panel
from ui.operator_errors import OPERATOR_ERRORS, warning


def chat_outputs(state, note=None, panel: PanelValues | None = None, clear_message=False, *, chat=None,
                 error: str = "") -> tuple:
    """The chat outputs: `chat` or else the session's transcript (kept in its state, never taken from the
    client); `error` is the error line (Markdown), hidden when empty."""
    message = None if clear_message else gr.skip()
    panel_values = panel.as_tuple() if panel is not None else (gr.skip(),) * 5
    shown = list(state.chat if chat is None else chat)
    return (shown, message, state, gr.skip() if note is None else note, *panel_values,
            gr.update(value=error, visible=bool(error)))


def failed_outputs(state: ChatState, message) -> tuple:
    """The last good inspection as it was, with `message` on the error line."""
    return chat_outputs(state, state.class_note, state.panel or empty_panel(), error=warning(message))


def kept_on_error(handler):
    """Decorate a streaming chat handler that takes `state` (see the module docstring)."""
    signature = inspect.signature(handler)

    @functools.wraps(handler)
    def guarded(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        state = bound.arguments.get("state") or ChatState()
        transcript = list(state.chat)
        try:
            yield from handler(*bound.args, **bound.kwargs)
        except OPERATOR_ERRORS as exc:
            state.chat = transcript
            yield failed_outputs(state, exc)
    return guarded
