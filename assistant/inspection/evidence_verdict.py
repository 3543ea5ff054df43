"""The verdict written from the visual evidence alone, for sites with no language model configured, and
for a part out of distribution (wrong product, unknown object) with or without one.

It states plainly that no model was asked, then gives what the evidence shows: the score against the
class threshold and what that threshold promises (overkill, on how many normals), where the hottest
region is, the nearest normal reference, and the rules to check. A part out of distribution is not
judged against the class at all: the verdict says what it looks like instead, and holds it.
"""

from __future__ import annotations

from pathlib import Path

from assistant.inspection.band_fusion import band_decides
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
             f"{evidence.map_score:.3f} against the limit {evidence.threshold:.3f}): {decision}.",
             operating_point_line(calibration)]
    if evidence.band_ratio is not None:
        lines.append(band_line(evidence))
    spot = where(evidence.defect_box, evidence.peak, evidence.query.size)
    if evidence.anomalous and band_decides(evidence.map_ratio, evidence.band_ratio):
        lines.append(f"The band decides: where the series leaves its normal band is its location (below); the "
                     f"map's warmest region on the plot is {spot}.")
    elif evidence.anomalous:
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


def band_line(evidence) -> str:
    """A series' two parts: "The score is the larger of the map's 0.95 and the band's 1.37 (the series leaves
    its normal band by 0.69 band widths; the class's band limit is 0.50)"."""
    deviation = evidence.query.rendered.scores["band_deviation"]
    return (f"The score is the larger of the map's {evidence.map_ratio:.2f} and the band's {evidence.band_ratio:.2f} "
            f"(the series leaves its normal band by {deviation:.2f} band widths; the class's band limit is "
            f"{evidence.calibration.band_threshold:.2f}).")


def operating_point_line(calibration) -> str:
    """What the class threshold promises: "set for 2.0 % overkill; expected 3.0 % on 32 leave-one-out normals"."""
    target, expected = calibration.target_overkill, calibration.expected_overkill
    stated = "" if target is None else f"set for {target:.1%} overkill; "
    promise = "" if expected is None else f"expected overkill {expected:.1%}, "
    return (f"The threshold is {stated}{promise}resting on {calibration.n_scored} leave-one-out normal scores "
            f"of {calibration.n_references} references.")


def evidence_verdict(evidence, model: str | None = None) -> Verdict:
    """The verdict the evidence writes itself: out of distribution when it is, else vision-only.
    model: the configured model, named in an out-of-distribution notice as not asked."""
    if evidence.out_of_distribution is not None:
        return out_of_distribution_verdict(evidence, model)
    return vision_only_verdict(evidence)


def vision_only_verdict(evidence) -> Verdict:
    return Verdict(
        reasoning=explain(evidence), correctness=0 if evidence.anomalous else 1,
        anomaly_score=round(evidence.anomaly_score, 4), threshold=round(evidence.threshold, 6),
        status="vision_only", class_name=evidence.class_name, map_score=round(evidence.map_score, 6),
        image_sha256=evidence.query.sha256, references=[r.to_dict() for r in evidence.references],
        rules=[r.to_dict() for r in evidence.rules], defect_box=evidence.defect_box, notice=NOTICE,
        operating_point=evidence.calibration.operating_point(), mm_per_px=evidence.mm_per_px)


def out_of_distribution_verdict(evidence, model: str | None = None) -> Verdict:
    """Neither PASS nor FAIL: held, saying what the part looks like instead. The model, if any, is not
    asked: judged against the references and rules of the wrong product, its answer would mean nothing."""
    found = evidence.out_of_distribution
    asked = (f"The language model ({model}) was not asked: it would judge the part against the references and "
             f"rules of {found.class_name}." if model else "No language model was asked.")
    return Verdict(
        reasoning="\n".join([found.headline, found.details, found.advice]), correctness=0,
        anomaly_score=round(evidence.anomaly_score, 4), threshold=round(evidence.threshold, 6),
        status="out_of_distribution", class_name=evidence.class_name, map_score=round(evidence.map_score, 6),
        image_sha256=evidence.query.sha256, references=[r.to_dict() for r in evidence.references],
        rules=[r.to_dict() for r in evidence.rules], notice=f"Out of distribution: {found.headline} {asked}",
        operating_point=evidence.calibration.operating_point(), out_of_distribution=found.to_dict())

