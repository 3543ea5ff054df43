"""The verdict written from the visual evidence alone, for sites with no language model configured.

It states plainly that no model was asked, then gives what the evidence shows: the score against the
class threshold, where the hottest region is, the nearest normal reference, and the rules to check.
"""

from __future__ import annotations

from pathlib import Path

from assistant.verdict import Verdict, score_in_words

NOTICE = ("No language model is configured, so this verdict comes from the visual evidence alone. "
          "Configure one with --model PRESET_OR_PATH (see `normalcy models list`).")


def where(box: list[int] | None, peak: tuple[int, int], size: tuple[int, int]) -> str:
    """A human phrase for a position: "the upper-left part (x 12-80, y 30-95 px)"."""
    width, height = size
    x, y = peak
    vertical = ("upper", "middle", "lower")[min(2, 3 * y // max(1, height))]
    horizontal = ("left", "centre", "right")[min(2, 3 * x // max(1, width))]
    name = "centre" if (vertical, horizontal) == ("middle", "centre") else f"{vertical}-{horizontal}"
    name = name.replace("middle-", "").replace("-centre", "")
    if box is None:
        return f"the {name} part, around ({x}, {y}) px"
    x0, y0, x1, y1 = box
    return f"the {name} part (x {x0}-{x1}, y {y0}-{y1} px)"


def explain(evidence) -> str:
    """Reasoning text for a vision-only verdict."""
    score, calibration = round(evidence.anomaly_score, 4), evidence.calibration     # rounded as the verdict's
    decision = "ANOMALOUS" if evidence.anomalous else "NORMAL"
    lines = [NOTICE,
             f"Score: {score_in_words(score)} of {evidence.class_name} (anomaly score {score:.2f}; map score "
             f"{evidence.map_score:.3f} against the limit {evidence.threshold:.3f}, set on "
             f"{calibration.n_references} normal references): {decision}."]
    spot = where(evidence.defect_box, evidence.peak, evidence.query.size)
    if evidence.anomalous:
        lines.append(f"The region that deviates most from the {len(evidence.references)} nearest normal references "
                     f"is {spot}.")
    else:
        lines.append(f"No region exceeds the threshold; the warmest spot is {spot}.")
    if evidence.references:
        nearest = evidence.references[0]
        lines.append(f"Nearest normal reference: {Path(nearest.path).name} (embedding distance {nearest.distance:.3f}).")
    defects = [r.rule for r in evidence.rules if r.rule.kind == "defect"]
    if defects and evidence.anomalous:
        lines.append("Defect rules to check there: " + " ".join(f"[{r.id}] {r.text}" for r in defects[:3]))
    noise = [r.rule for r in evidence.rules if r.rule.kind == "accepted_noise"]
    if noise:
        lines.append("Accepted variation (not a defect): " + " ".join(f"[{r.id}] {r.text}" for r in noise[:2]))
    return "\n".join(lines)


def vision_only_verdict(evidence) -> Verdict:
    return Verdict(
        reasoning=explain(evidence), correctness=0 if evidence.anomalous else 1,
        anomaly_score=round(evidence.anomaly_score, 4), threshold=round(evidence.threshold, 6),
        status="vision_only", class_name=evidence.class_name, map_score=round(evidence.map_score, 6),
        image_sha256=evidence.query.sha256, references=[r.to_dict() for r in evidence.references],
        rules=[r.to_dict() for r in evidence.rules], defect_box=evidence.defect_box, notice=NOTICE)

