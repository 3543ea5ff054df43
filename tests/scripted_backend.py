"""`ScriptedBackend`: a test fake that answers from a script, recording what it was asked.

Honest about being a fake: it does no inference. It implements the `Backend` protocol so the
product code under test (parser, re-ask flow, Session) runs its real path.
"""

from __future__ import annotations

import re

from assistant.vlm.backend import Generation


class ScriptedBackend:
    """Answers `answers[0]`, `answers[1]`, ... in turn (the last one repeats); records every call."""

    def __init__(self, answers: list[str], p_anomalous: float | None = None, context_tokens: int | None = None):
        self.name = "scripted"
        self.answers = list(answers)
        self.p_anomalous = p_anomalous
        self.context_tokens = context_tokens
        self.calls: list[dict] = []

    def _next(self) -> str:
        return self.answers[min(len(self.calls) - 1, len(self.answers) - 1)]

    def generate(self, messages, *, max_new_tokens=None, guided=False) -> Generation:
        self.calls.append({"messages": list(messages), "max_new_tokens": max_new_tokens, "guided": guided})
        text = self._next()
        return Generation(text=text, p_anomalous=self.p_anomalous, n_tokens=len(text.split()), seconds=0.0)

    def stream(self, messages, *, max_new_tokens=None):
        self.calls.append({"messages": list(messages), "max_new_tokens": max_new_tokens, "stream": True})
        yield from re.findall(r"\s*\S+|\s+$", self._next())
