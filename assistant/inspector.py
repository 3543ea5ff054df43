"""The Inspector facade: what the CLI and the UI call. One image and a class in, a verdict out.

It gathers the evidence (references, rules, anomaly map, calibrated threshold), asks the language model
when one is configured — or writes the verdict from the evidence alone when none is — keeps the
conversation for follow-up questions, and appends every inspection and turn to the run log.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import NormalcyConfig
from assistant.evidence import Evidence, EvidenceGatherer
from assistant.home import Home
from assistant.inputs import LoadedImage, load_image
from assistant.run_log import RunLog
from assistant.verdict import Verdict
from assistant.vision_only import follow_up_answer
from assistant.workspace import Workspace


@dataclass
class Inspection:
    id: str
    verdict: Verdict
    evidence: Evidence
    question: str | None = None
    session: object = None                 # assistant.conversation.Session when a model answered
    turns: list[tuple[str, str]] = field(default_factory=list)


class Inspector:
    def __init__(self, config: NormalcyConfig, home: Home, backend=None):
        """backend: an already loaded `assistant.vlm.backend.Backend`; default: the configured model
        (`config.vlm.model`), loaded on first use; None configured means vision-only mode."""
        self.config = config
        self.home = home
        self.workspace = Workspace(config, home)
        self.gatherer = EvidenceGatherer(self.workspace)
        self.log = RunLog(home.runs)
        self._backend = backend
        self._reasoner = None

    @property
    def backend(self):
        if self._backend is None and self.config.vlm.model:
            from assistant.vlm.backend import load_backend

            self._backend = load_backend(None, self.config.vlm)
        return self._backend

    @property
    def reasoner(self):
        """The model side (prompting, verdict, calibration of P(anomalous)); None in vision-only mode."""
        if self._reasoner is None and self.backend is not None:
            from assistant.model_verdict import ModelReasoner

            self._reasoner = ModelReasoner(self.backend, self.workspace, self.gatherer)
        return self._reasoner

    def classes(self) -> dict[str, int]:
        """Product classes in the store and their number of references."""
        return self.workspace.references.classes()

    def load(self, source: str | Path | bytes | LoadedImage, name: str | None = None) -> LoadedImage:
        if isinstance(source, LoadedImage):
            return source
        return load_image(source, self.config.inputs, name=name)

    def gather(self, source, class_name: str, question: str | None = None) -> Evidence:
        """The evidence alone (fast): references, rules, anomaly map, threshold."""
        return self.gatherer.gather(self.load(source), class_name, question)

    def conclude(self, evidence: Evidence, question: str | None = None, strategy: str | None = None,
                 log: bool = True) -> Inspection:
        """The verdict on gathered evidence: the model's when one is configured, else vision-only."""
        if self.reasoner is None:
            from assistant.vision_only import vision_only_verdict

            verdict, session = vision_only_verdict(evidence), None
        else:
            verdict, session = self.reasoner.verdict(evidence, question, strategy)
        inspection = Inspection(uuid.uuid4().hex[:12], verdict, evidence, question, session)
        if log:
            self.record(inspection)
        return inspection

    def inspect(self, source, class_name: str, question: str | None = None, strategy: str | None = None,
                log: bool = True) -> Inspection:
        """Inspect one image (path, bytes or LoadedImage) as a part of `class_name`."""
        return self.conclude(self.gather(source, class_name, question), question, strategy, log)

    def stream(self, source, class_name: str, question: str | None = None,
               strategy: str | None = None) -> Iterator[tuple[str, object]]:
        """Yields ("evidence", Evidence) as soon as it is gathered, then ("inspection", Inspection)."""
        evidence = self.gather(source, class_name, question)
        yield "evidence", evidence
        yield "inspection", self.conclude(evidence, question, strategy)

    def ask(self, inspection: Inspection, question: str) -> Iterator[str]:
        """A follow-up question, answered as a stream of text deltas, with the images still in context."""
        if inspection.session is None:
            pieces = [follow_up_answer(inspection.evidence, question, self.workspace.rules)]
        else:
            pieces = inspection.session.ask_stream(question)
        answer = []
        for piece in pieces:
            answer.append(piece)
            yield piece
        self._turn(inspection, question, "".join(answer))

    def look_closer(self, inspection: Inspection, question: str | None = None) -> str:
        """Zoom into the hottest region and ask about it (vision-only: describe the region's evidence)."""
        box = inspection.evidence.focus_box
        if inspection.session is None:
            return "".join(self.ask(inspection, question or f"Look closer at the region {box}."))
        answer = inspection.session.look_closer(tuple(box), question).text
        self._turn(inspection, f"[look closer at {box}] {question or ''}".strip(), answer)
        return answer

    def _turn(self, inspection: Inspection, question: str, answer: str) -> None:
        inspection.turns.append((question, answer))
        self.log.append({"kind": "turn", "inspection": inspection.id, "question": question, "answer": answer,
                         "model": inspection.verdict.model})

    def record(self, inspection: Inspection) -> dict:
        """Append an inspection to the run log, with its image and overlay stored by hash."""
        evidence = inspection.evidence
        image_sha = self.log.store_image(evidence.query.image, evidence.query.sha256)
        overlay_sha = self.log.store_image(evidence.overlay("all"))
        return self.log.append({
            "kind": "inspection", "id": inspection.id, "class": evidence.class_name,
            "question": inspection.question, "image": image_sha, "overlay": overlay_sha,
            "source": evidence.query.path, "verdict": inspection.verdict.to_dict(),
            "encoder": self.workspace.encoder.id, "config_hash": self.config.hash()})
