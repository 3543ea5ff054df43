"""Operator errors in the browser. A `NormalcyError` (bad image, unknown class, read-only rule …) or a
`Refused` request is something the operator can fix: it is shown as one plain line in the place the
operator is looking (`warning`), the handler's other outputs stay as they were, and nothing is marked
as failed — so no error badge covers an input. Anything else stays an internal error.

`shown_to_operator` is for handlers without a line of their own: the error becomes a `gr.Error`.
"""

from __future__ import annotations

import functools
import inspect

import gradio as gr

from retrieval.errors import NormalcyError
from ui.markdown_text import literal

class Refused(Exception):
    """A request the app turns down (nothing to act on yet, not allowed, contradicts the verdict); the message
    says what to do instead."""


OPERATOR_ERRORS = (NormalcyError, Refused)


def warning(message) -> str:
    """One error line (Markdown): the message shown as text, never as markup."""
    return f"⚠ {literal(str(message))}"


def in_line(shown):
    """Decorate a plain handler whose operator errors become `shown(message)` (its outputs) instead of an
    exception; keeps the handler's name, so its API endpoint stays named after it."""
    def decorate(handler):
        @functools.wraps(handler)
        def plain(*args, **kwargs):
            try:
                return handler(*args, **kwargs)
            except OPERATOR_ERRORS as exc:
                return shown(warning(exc))
        return plain
    return decorate


def shown_to_operator(handler):
    """Decorate a handler (plain or generator); keeps its name, so its API endpoint stays named after it."""
    if inspect.isgeneratorfunction(handler):
        @functools.wraps(handler)
        def streaming(*args, **kwargs):
            try:
                yield from handler(*args, **kwargs)
            except OPERATOR_ERRORS as exc:
                raise gr.Error(str(exc)) from None
        return streaming

    @functools.wraps(handler)
    def plain(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except OPERATOR_ERRORS as exc:
            raise gr.Error(str(exc)) from None
    return plain
