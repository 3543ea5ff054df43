"""The model side of an inspection: prompt from the evidence, guided verdict, fused and calibrated score.

The model only answers `reasoning` and `correctness`; the system adds everything it can compute itself.
When the answer cannot be parsed even after one re-ask, nothing is dropped: the verdict has
status "unparsed", keeps the raw text, and decides from the anomaly evidence.
"""

from __future__ import annotations

from assistant.verdict import Verdict

UNPARSED_REASONING = ("The language model's answer could not be read as a verdict (its raw text is kept). "
                      "The decision below comes from the anomaly evidence: score {score:.2f} x the class "
                      "threshold.")


class ModelReasoner:
    def __init__(self, backend, workspace, gatherer):
        from assistant.reasoning.model_threshold import ModelCalibrator

        self.backend = backend
        self.ws = workspace
        self.calibrator = ModelCalibrator(workspace, gatherer)

    def messages(self, evidence, question: str | None, strategy):
        """The prompt for this evidence under a strategy (which evidence goes in is the strategy's call)."""
        from assistant.reasoning.prompt_builder import build_messages

        shown = evidence.references[: self.ws.config.vlm.reference_images] if strategy.references else []
        return build_messages(
            strategy, query=evidence.query.image, class_name=evidence.class_name, question=question,
            rules=[ranked.rule for ranked in evidence.rules] if strategy.rules else [],
            references=[evidence.reference_image(r) for r in shown],
            overlay=evidence.overlay(self.ws.config.vlm.overlay_style) if strategy.overlay else None)

    def new_session(self, evidence, question: str | None, chosen):
        """A conversation opened with the prompt for this evidence under strategy `chosen`."""
        from assistant.reasoning.conversation import Session

        return Session(self.backend, self.messages(evidence, question, chosen), evidence.query.image,
                       max_new_tokens=self.ws.config.vlm.max_new_tokens)

    def session(self, evidence, question: str | None, strategy_name: str | None):
        from assistant.reasoning.prompt_builder import strategy

        chosen = strategy(strategy_name or self.ws.config.vlm.strategy)
        return self.new_session(evidence, question, chosen), chosen

    def _answer(self, evidence, chosen):
        """The model's verdict answer on evidence, prompted with strategy `chosen` (for calibration)."""
        return self.new_session(evidence, None, chosen).inspect(guided=self.ws.config.vlm.guided)

    def _setting(self, chosen) -> str:
        vlm = self.ws.config.vlm
        return f"{self.backend.name}|{chosen.name}|refs={vlm.reference_images}|{vlm.overlay_style}"

    def verdict(self, evidence, question: str | None, strategy_name: str | None):
        """-> (Verdict, Session): the session holds the conversation for follow-up questions."""
        session, chosen = self.session(evidence, question, strategy_name)
        answer = session.inspect(guided=self.ws.config.vlm.guided)
        return self._build(evidence, answer, chosen), session

    def _build(self, evidence, answer, chosen) -> Verdict:
        from assistant.reasoning.score_fusion import fuse

        weight = self.ws.config.vlm.fusion_weight
        p_threshold = 0.5
        if answer.p_anomalous is not None and weight > 0:
            p_threshold = self.calibrator.threshold(evidence.class_name, self._setting(chosen),
                                                    lambda normal: self._answer(normal, chosen))
        score = fuse(evidence.anomaly_score, answer.p_anomalous, p_threshold, weight)
        parsed = answer.status == "ok"
        return Verdict(
            reasoning=answer.reasoning if parsed else UNPARSED_REASONING.format(score=score),
            correctness=answer.correctness if parsed else int(score < 1.0),
            anomaly_score=round(score, 4), threshold=round(evidence.threshold, 6), status=answer.status,
            class_name=evidence.class_name, map_score=round(evidence.map_score, 6),
            image_sha256=evidence.query.sha256, references=[r.to_dict() for r in evidence.references],
            rules=[r.to_dict() for r in evidence.rules], defect_box=evidence.defect_box,
            model_score=answer.p_anomalous, model=self.backend.name, raw_text=answer.raw_text,
            notice=None if parsed else answer.problem)
