"""Follow-up questions answered from the evidence alone (vision-only mode). The question's intent picks
the evidence that answers it — where (the verdict's own box, a crop, its size), which rule (the rules
ranked for the question and the region, with why each applies), compare (the part beside its nearest
normal reference at the hot region) — and anything else gets what this mode can answer. With a model, the
same evidence goes into the follow-up prompt: the text, and the crops as images (`FollowUp.for_model`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.inspection.rule_grounding import rule_regions
from assistant.verdict import box_words, score_in_words

INTENTS = (("compare", ("compare", "comparison", "reference", "versus", " vs", "differ", "side by side")),
           ("rule", ("rule", "criteri", "spec", "standard", "allowed", "tolerance", "applies")),
           ("where", ("where", "locat", "position", "region", "size", "how big", "how large", " mm", "pixel")))
FOR_THE_MODEL = "Evidence the system found for this question (anomaly map, rules, references):"
CROP_SIDE = 320       # crops are enlarged to this shorter side (nearest neighbour keeps the pixels honest)
MODEL_LONGEST = 448   # a crop given to a model is enlarged no further than this longer side (image tokens)


@dataclass(frozen=True)
class FollowUp:
    """text: the answer (plain text); images: (caption, PIL image) to show with it; for_model: (label, PIL
    image) given to a language model with the question (the crops themselves, not a composed picture)."""

    text: str
    images: list = field(default_factory=list)
    for_model: list = field(default_factory=list)


def intent(question: str) -> str:
    """"compare", "rule", "where" or "other" — the first whose words the question holds."""
    asked = f" {question.lower()} "
    return next((name for name, words in INTENTS if any(w in asked for w in words)), "other")


def region(evidence) -> tuple[list[int], bool]:
    """(box, over_limit): the verdict's defect box, or — when nothing is over the limit — the warmest region."""
    return (evidence.defect_box, True) if evidence.defect_box else (evidence.focus_box, False)


def crop(image, box, side: int = CROP_SIDE, longest: int | None = None):
    """The box of `image` (padded by 8 px), enlarged so its shorter side is `side` (by an integer factor),
    but — with `longest` — not so far that its longer side passes `longest`."""
    from PIL import Image

    x0, y0, x1, y1 = box
    piece = image.crop((max(0, x0 - 8), max(0, y0 - 8), min(image.width, x1 + 8), min(image.height, y1 + 8)))
    factor = max(1, -(-side // max(1, min(piece.size))))           # rounded up: at least `side`
    if longest:
        factor = max(1, min(factor, longest // max(piece.size)))
    return piece.resize((piece.width * factor, piece.height * factor), Image.Resampling.NEAREST)


def answer(evidence, question: str, workspace) -> FollowUp:
    """The answer to a follow-up from `evidence`; `workspace` gives the rules (and, with a text map, the
    text space the rules are grounded in)."""
    kind = intent(question)
    if kind == "where":
        return _where(evidence)
    if kind == "rule":
        return _rules(evidence, question, workspace)
    if kind == "compare":
        return _compare(evidence)
    return FollowUp("Without a language model I answer from the evidence: ask where the defect is (its box, a "
                    "crop and its size), which rule applies, or to compare the part with its closest normal "
                    f"reference. The verdict stands at {score_in_words(round(evidence.anomaly_score, 4))}.")


def images(evidence, question: str) -> list:
    """Only the images of the answer (no rule look-up): a crop for "where", a side-by-side for "compare"."""
    kind = intent(question)
    if kind == "where":
        return _where(evidence).images
    return _compare(evidence).images if kind == "compare" else []


def _where(evidence) -> FollowUp:
    box, over = region(evidence)
    width, height = evidence.query.size
    place = box_words(box, evidence.mm_per_px)
    if over:
        text = (f"The defect region is the verdict's box, {place}, in a {width}×{height} px image "
                f"({score_in_words(round(evidence.anomaly_score, 4))}). The crop below shows it enlarged.")
    else:
        text = (f"No region is over the class limit. The warmest region is {place} in a "
                f"{width}×{height} px image; the crop below shows it enlarged.")
    scale = (f" Millimetres from this class's scale (classes.{evidence.class_name}.mm_per_px in the config)."
             if evidence.mm_per_px else " Sizes are in pixels: this class has no millimetre scale configured.")
    return FollowUp(text + scale, [(f"crop at {place}", crop(evidence.query.image, box))],
                    [(f"The part at {place}, enlarged:", crop(evidence.query.image, box, longest=MODEL_LONGEST))])


def _rules(evidence, question: str, workspace) -> FollowUp:
    """Ranked for the question and the region: when a region is over the limit defect rules lead, else
    normality and accepted variation; within a kind, by similarity to the question. With a text space,
    each rule also says where on the part its text matches best (`rule_regions`)."""
    box, over = region(evidence)
    ranked = workspace.rules.for_class(evidence.class_name, question, 6)
    lead = ("defect",) if over else ("normality", "accepted_noise")
    ranked = sorted(ranked, key=lambda r: (r.rule.kind not in lead, -r.similarity))[:4]
    if not ranked:
        return FollowUp(f"The class {evidence.class_name} has no rules; add them in the Rules tab.")
    place = f"the region {box_words(box, evidence.mm_per_px)}"
    grounded = rule_regions(workspace, evidence, [item.rule for item in ranked])
    lines = [f"Rules for {place}, most applicable first:"]
    for rank, item in enumerate(ranked, start=1):
        rule = item.rule
        lines.append(f"{rank}. [{rule.id}] ({rule.kind}, {rule.severity}) {rule.text} — why: {_why(rule, over, place)}; "
                     f"closeness to your question {item.similarity:.2f}." + _grounded(grounded.get(rule.id), evidence))
    return FollowUp("\n".join(lines))


def _grounded(found, evidence) -> str:
    """Where the rule's text matches the part best, in the text map's space ("" without one)."""
    if found is None:
        return ""
    return (f" Its text matches the part best at {box_words(found.box, evidence.mm_per_px)}; cosine "
            f"{found.cosine:.2f} in the {(evidence.text_provider or 'text').upper()} text space.")


def _why(rule, over: bool, place: str) -> str:
    if rule.kind == "defect":
        return (f"{place} is over the class limit, so this is the defect it may be" if over
                else "nothing is over the class limit, so this defect is not indicated")
    if rule.kind == "accepted_noise":
        return f"if what {place} shows is this, it is accepted variation, not a defect"
    return "it says what a normal part looks like, to compare the region with"


def _compare(evidence) -> FollowUp:
    if not evidence.references:
        return FollowUp("There is no normal reference to compare with.")
    box, over = region(evidence)
    nearest, name = evidence.references[0], Path(evidence.references[0].path).name
    reference = evidence.reference_image(nearest)
    sx, sy = reference.width / evidence.query.size[0], reference.height / evidence.query.size[1]
    scaled = [round(box[0] * sx), round(box[1] * sy), round(box[2] * sx), round(box[3] * sy)]
    pair = [(evidence.query.image, box), (reference, scaled)]
    shown, given = ([crop(image, b, longest=longest) for image, b in pair] for longest in (None, MODEL_LONGEST))
    hot, place = "the defect region" if over else "the warmest region", box_words(box, evidence.mm_per_px)
    text = (f"Left: your part at {hot} ({place}). Right: the nearest normal reference {name} (embedding "
            f"distance {nearest.distance:.3f}) at the same place. Where they differ is what the map scores: "
            f"{score_in_words(round(evidence.anomaly_score, 4))}.")
    return FollowUp(text, [(f"part (left) vs {name} (right)", side_by_side(*shown))],
                    [(f"The part at {hot} ({place}), enlarged:", given[0]),
                     (f"The nearest normal reference {name} at the same place, enlarged:", given[1])])


def side_by_side(left, right, gap: int = 8):
    from PIL import Image

    height = max(left.height, right.height)
    canvas = Image.new("RGB", (left.width + gap + right.width, height), (255, 255, 255))
    canvas.paste(left, (0, 0))
    canvas.paste(right, (left.width + gap, 0))
    return canvas
