"""One inspection as the Inspector hands it out: its verdict, the evidence it rests on, the model's
conversation (when a model answered) and the follow-up turns so far."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.inspection.evidence import Evidence
from assistant.verdict import Verdict


@dataclass
class Inspection:
    id: str
    verdict: Verdict
    evidence: Evidence
    question: str | None = None
    session: object = None                 # assistant.reasoning.conversation.Session when a model answered
    turns: list[tuple[str, str]] = field(default_factory=list)
