"""The model side of an inspection: prompt from the evidence, guided verdict, fused and calibrated score.

The model only answers `reasoning` and `correctness`; the system adds everything it can compute itself.
When the answer cannot be parsed even after one re-ask, nothing is dropped: the verdict has
status "unparsed", keeps the raw text, and decides from the anomaly evidence.
"""

from __future__ import annotations

from assistant.reasoning.region_check import region_check
from assistant.verdict import Verdict

UNCALIBRATED = ("The model's P(anomalous) is still being calibrated for these prompt settings (in the "
                "background); this score fused it uncalibrated, against 0.5.")
UNPARSED_REASONING = ("The language model's answer could not be read as a verdict (its raw text is kept). "
                      "The decision below comes from the anomaly evidence: score {score:.2f} x the class "
                      "threshold.")


class ModelReasoner:
    """Asks one backend about gathered evidence. Per-request options are passed in, never stored:
    the shared settings (`vlm`) and the calibration of P(anomalous) are the same for every request."""

    def __init__(self, backend, vlm, thresholds):
        """vlm: the configured `VlmConfig`; thresholds: the `ModelThresholds` of P(anomalous)."""
        self.backend = backend
        self.vlm = vlm
        self.thresholds = thresholds

    def settings(self, strategy_name: str | None = None, options=None):
        """-> (VlmConfig, Strategy) of one request: the options' reference count, overlay style and
        switches when given; a strategy named by the caller wins over the switches."""
        from assistant.reasoning.prompt_builder import strategy

        vlm = self.vlm if options is None else options.apply_vlm(self.vlm)
        if strategy_name:
            return vlm, strategy(strategy_name)
        return vlm, strategy(vlm.strategy) if options is None else options.strategy()

    def messages(self, evidence, question: str | None, chosen, vlm, shown=None, sheet=None):
        """The prompt for this evidence under a strategy (which evidence goes in is the strategy's call);
        `shown`: the references to show (default: the first `vlm.reference_images`), `sheet`: the `Sheet` to show."""
        from assistant.reasoning.prompt_builder import build_messages

        shown = self._shown(evidence, chosen, vlm) if shown is None else shown
        return build_messages(
            chosen, query=evidence.query.image, class_name=evidence.class_name, question=question,
            rules=[ranked.rule for ranked in evidence.rules] if chosen.rules else [],
            references=[evidence.reference_image(r) for r in shown],
            overlay=evidence.overlay(vlm.overlay_style) if chosen.overlay else None, sheet=sheet)

    @staticmethod
    def _shown(evidence, chosen, vlm) -> list:
        return evidence.references[: vlm.reference_images] if chosen.references else []

    def session(self, evidence, question: str | None, strategy_name: str | None = None, options=None, sheet=None):
        """A conversation opened with the prompt for this evidence under this request's settings; `sheet`: the
        `Sheet` of a video or point cloud whose evidence no longer carries it (reopened from the run log)."""
        return self._open(evidence, question, *self.settings(strategy_name, options), sheet=sheet)

    def _open(self, evidence, question: str | None, vlm, chosen, sheet=None):
        """The session of this prompt. The evidence's `Sheet` (or `sheet`, reopened from the run log) is one
        image more, right after the query. Budget rule, when the prompt with it does not fit the model's
        context budget (`Session.fits`): a video's frame sheet is the video itself, so it stays and takes the
        place of the last reference shown, then of the one before, until the prompt fits or no reference is
        left — the same number of images as the prompt of a still image, or fewer; a point cloud's views only
        show the render's part from other sides, so they are left out before any reference is."""
        from assistant.reasoning.conversation import Session

        sheet = evidence.sheet if sheet is None else sheet
        shown = self._shown(evidence, chosen, vlm)
        session = Session(self.backend, self.messages(evidence, question, chosen, vlm, shown, sheet),
                          evidence.query.image, max_new_tokens=vlm.max_new_tokens)
        if sheet is not None and not sheet.is_the_file and not session.fits():
            session.history = self.messages(evidence, question, chosen, vlm, shown, None)
            return session
        while sheet is not None and shown and not session.fits():
            shown = shown[:-1]
            session.history = self.messages(evidence, question, chosen, vlm, shown, sheet)
        return session

    def verdict(self, evidence, question: str | None, strategy_name: str | None = None, options=None):
        """-> (Verdict, Session): the session holds the conversation for follow-up questions."""
        vlm, chosen = self.settings(strategy_name, options)
        session = self._open(evidence, question, vlm, chosen)
        with self.thresholds.busy:
            answer = session.inspect(guided=self.vlm.guided)
        return self._build(evidence, answer, vlm, chosen), session

    def calibrate(self, class_name: str, options=None) -> float | None:
        """Calibrate P(anomalous) of `class_name` for these settings now (warm-up); None if the model
        gives no P(anomalous) or fusion is off."""
        vlm, chosen = self.settings(None, options)
        if vlm.fusion_weight <= 0:
            return None
        return self.thresholds.threshold(class_name, self._setting(vlm, chosen),
                                         lambda normal: self._answer(normal, vlm, chosen), wait=True)

    def _answer(self, evidence, vlm, chosen):
        """The model's verdict answer on evidence, asked exactly as the request being scored (calibration)."""
        return self._open(evidence, None, vlm, chosen).inspect(guided=vlm.guided)

    def _setting(self, vlm, chosen) -> str:
        return f"{self.backend.name}|{chosen.name}|refs={vlm.reference_images}|{vlm.overlay_style}"

    def _build(self, evidence, answer, vlm, chosen) -> Verdict:
        score, calibrated = self._fused_score(evidence, answer, vlm, chosen)
        parsed = answer.status == "ok"
        correctness, status, notice = (answer.correctness, "ok", None if calibrated else UNCALIBRATED) if parsed \
            else (int(score < 1.0), answer.status, answer.problem)
        disagreement = disagreement_notice(correctness, score, vlm.review_margin) if parsed else None
        if disagreement:
            correctness, status, notice = 0, "needs_review", disagreement
        return Verdict(
            reasoning=answer.reasoning if parsed else UNPARSED_REASONING.format(score=score),
            correctness=correctness, anomaly_score=round(score, 4), threshold=round(evidence.threshold, 6),
            status=status, class_name=evidence.class_name, map_score=round(evidence.map_score, 6),
            image_sha256=evidence.query.sha256, references=[r.to_dict() for r in evidence.references],
            rules=[r.to_dict() for r in evidence.rules], defect_box=evidence.defect_box,
            model_score=answer.p_anomalous, model=self.backend.name, raw_text=answer.raw_text, notice=notice,
            region_check=region_check(answer.reasoning, evidence.defect_box, evidence.peak, evidence.query.size)
            if parsed else None, operating_point=evidence.calibration.operating_point(), mm_per_px=evidence.mm_per_px)

    def _fused_score(self, evidence, answer, vlm, chosen) -> tuple[float, bool]:
        """(the map score and the model's P(anomalous) fused (1.0 = threshold), whether P was calibrated)."""
        from assistant.reasoning.score_fusion import fuse

        p_threshold = None
        if answer.p_anomalous is not None and vlm.fusion_weight > 0:
            p_threshold = self.thresholds.threshold(evidence.class_name, self._setting(vlm, chosen),
                                                    lambda normal: self._answer(normal, vlm, chosen))
            if p_threshold is None:
                return fuse(evidence.anomaly_score, answer.p_anomalous, 0.5, vlm.fusion_weight), False
        return fuse(evidence.anomaly_score, answer.p_anomalous, p_threshold or 0.5, vlm.fusion_weight), True


def disagreement_notice(correctness: int, score: float, margin: float) -> str | None:
    """Why the model's answer contradicts the fused score beyond `margin`, or None when they agree."""
    if correctness == 1 and score >= 1.0 + margin:
        return (f"The model answered normal, but the evidence scores {score:.2f} x the class threshold "
                f"(review margin {margin:.2f}): held for review by a person.")
    if correctness == 0 and score < 1.0 - margin:
        return (f"The model answered defective, but the evidence scores only {score:.2f} x the class "
                f"threshold (review margin {margin:.2f}): held for review by a person.")
    return None
