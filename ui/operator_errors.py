"""Operator errors in the browser: a `NormalcyError` (bad image, unknown class, read-only rule …) becomes
a `gr.Error`, shown as a message that says what to do; anything else stays an internal error."""

from __future__ import annotations

import functools
import inspect

import gradio as gr

from retrieval.errors import NormalcyError


def shown_to_operator(handler):
    """Decorate a handler (plain or generator); keeps its name, so its API endpoint stays named after it."""
    if inspect.isgeneratorfunction(handler):
        @functools.wraps(handler)
        def streaming(*args, **kwargs):
            try:
                yield from handler(*args, **kwargs)
            except NormalcyError as exc:
                raise gr.Error(str(exc)) from None
        return streaming

    @functools.wraps(handler)
    def plain(*args, **kwargs):
        try:
            return handler(*args, **kwargs)
        except NormalcyError as exc:
            raise gr.Error(str(exc)) from None
    return plain
