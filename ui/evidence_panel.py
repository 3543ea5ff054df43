"""What the evidence panel shows, as plain values: HTML for the verdict card and the rules table, and
(image, caption) pairs for the reference gallery. No Gradio here, so it is tested as plain functions.

Every text that came from a file, the store or a model is HTML-escaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from pathlib import Path

from assistant.verdict import box_words, location_words, score_in_words, verdict_label
from ui.markdown_text import literal

DISPLAY_MIN_SIDE = 320
LABEL_CSS = {"PASS": "nc-pass", "FAIL": "nc-fail", "NEEDS REVIEW": "nc-review", "OUT OF DISTRIBUTION": "nc-ood"}
KIND_ORDER = {"defect": 0, "normality": 1, "accepted_noise": 2}     # rules panel: defects first
STATUS_WORDS = {"ok": "model verdict", "unparsed": "model answer unreadable, decided from the evidence",
                "vision_only": "vision-only (no language model)",
                "needs_review": "model and evidence disagree: held for review",
                "out_of_distribution": "does not look like this class: held for review"}


@dataclass(frozen=True)
class PanelValues:
    """The five panel components in order: verdict card, overlay image, gallery, rules table, and the raw
    verdict (`Verdict.to_dict()`), shown as JSON text — text, not a JSON value, because API clients treat
    any dict with a "path" key (as each reference has) as a file to download."""

    card: str
    overlay: object
    gallery: list
    rules: str
    raw: dict | None

    def as_tuple(self) -> tuple:
        return self.card, self.overlay, self.gallery, self.rules, self.raw_json

    @property
    def raw_json(self) -> str:
        return "" if self.raw is None else json.dumps(self.raw, indent=2, ensure_ascii=False)


def for_display(image):
    """Small images are enlarged by a whole factor (nearest neighbour: pixels stay sharp) to be readable."""
    from PIL import Image

    short = min(image.size)
    if short >= DISPLAY_MIN_SIDE:
        return image
    factor = -(-DISPLAY_MIN_SIDE // short)
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def pending_card(class_name: str, n_references: int) -> str:
    return (f'<div class="nc-card nc-pending"><div class="nc-label">…</div>'
            f"<div>Evidence gathered for <b>{escape(class_name)}</b> ({n_references} nearest references). "
            "Waiting for the verdict…</div></div>")


def empty_card() -> str:
    return ('<div class="nc-card nc-empty">Upload, drop or paste an image of a part in the chat to inspect it. '
            "The evidence and the verdict appear here.</div>")


def verdict_card(verdict: dict) -> str:
    """PASS / FAIL / OUT OF DISTRIBUTION / NEEDS REVIEW, the score in words, who decided and the region.
    The reasoning is in the chat, once; the card stays short."""
    label = verdict_label(verdict)
    decided = STATUS_WORDS.get(verdict["status"], verdict["status"])
    model = f" · model <code>{escape(verdict['model'])}</code>" if verdict.get("model") else ""
    region = region_words(verdict.get("defect_box"), verdict.get("mm_per_px"))
    where = location_words(verdict.get("location"))     # a render's box in its file's own terms
    where = f'<div class="nc-meta">{escape(where)}</div>' if where else ""
    return (f'<div class="nc-card {LABEL_CSS.get(label, "nc-fail")}"><div class="nc-label">{label}</div>'
            f'<div class="nc-score"><b>{escape(score_in_words(verdict["anomaly_score"]))}</b> '
            f'of {escape(verdict["class_name"])}</div>'
            f'<div class="nc-meta">{escape(decided)}{model} · {escape(region)}</div>{where}'
            f'{_review_lines(verdict)}</div>')


def region_words(box, mm_per_px: float | None = None) -> str:
    return f"region {box_words(box, mm_per_px)}" if box else "no defect region"


def _review_lines(verdict: dict) -> str:
    """Why a verdict is held for review, and whether the model's named region matches the map."""
    held = verdict.get("status") in ("needs_review", "out_of_distribution")
    lines = [escape(verdict["notice"])] if held and verdict.get("notice") else []
    check = verdict.get("region_check")
    if check:
        agrees = "matches" if check["agrees"] else "does not match"
        lines.append(f"The region the model names ({escape(str(check['named']))}) {agrees} the anomaly map.")
    return "".join(f'<div class="nc-meta">{line}</div>' for line in lines)


def rules_table(rules: list[dict], switched_off: bool = False, missing: str = "") -> str:
    """The applicable rules (kind, severity, text): defects first, then by relevance. `missing`: the warning
    to show above them when the class has no rules of its own (see `no_rules_warning`)."""
    if switched_off:
        return '<div class="nc-rules nc-muted">Rules were switched off for this inspection.</div>'
    warning = f'<div class="nc-rules nc-warning">{escape(missing)}</div>' if missing else ""
    if not rules:
        return warning or '<div class="nc-rules nc-muted">No rules apply to this class.</div>'
    ordered = sorted(rules, key=lambda r: KIND_ORDER.get(r["kind"], len(KIND_ORDER)))
    rows = "".join(
        f'<tr><td class="nc-kind">{escape(r["kind"])}</td><td class="nc-sev nc-{escape(r["severity"])}">'
        f'{escape(r["severity"])}</td><td>{escape(r["text"])}<div class="nc-muted">{escape(r["id"])}</div></td></tr>'
        for r in ordered)
    table = ('<table class="nc-rules"><thead><tr><th>kind</th><th>severity</th><th>rule</th></tr></thead>'
             f"<tbody>{rows}</tbody></table>")
    return warning + table


def no_rules_warning(class_name: str, classes_with_rules) -> str:
    """What to say when `class_name` has no rules of its own: which classes do, when their names are close."""
    close = sorted(c for c in set(classes_with_rules) if c != "*" and (c.startswith(class_name)
                                                                        or class_name.startswith(c)))
    hint = f" Rules exist for {', '.join(close)}: copy the ones that fit." if close else ""
    return (f"⚠ The class {class_name} has no rules of its own, so verdicts rest on the images alone.{hint} "
            "Add rules in the Rules tab.")


def gallery_items(references: list[dict], copies, shown_to_model: int | None, images) -> list[tuple]:
    """(image path, caption) per retrieved reference (its stored copy, published to `images`: as it is
    when a browser shows its format, else as PNG); the caption gives its embedding distance and whether
    the model was shown it (`shown_to_model` None: no model). copies: the Inspector's `reference_copies`."""
    items = []
    for rank, ref in enumerate(references, start=1):
        path = copies.find(ref["sha256"])
        if path is None:
            continue
        if path.suffix.lower() in copies.BROWSER_SUFFIXES:
            picture = images.publish_file(path, f"reference-{ref['sha256']}{path.suffix.lower()}")
        else:
            picture = images.publish(copies.picture(ref["sha256"]))
        caption = f"#{rank} {Path(ref['path']).stem} · d {float(ref['distance'] or 0):.2f}"
        if shown_to_model is not None and rank <= shown_to_model:
            caption += " · shown to model"
        items.append((picture, caption))
    return items


def verdict_message(verdict: dict, class_note: str = "") -> str:
    """The verdict as a chat message (Markdown; the class name and the reasoning shown as text). The notice
    "no language model is configured" is left out: the page says it once, at the top."""
    label = verdict_label(verdict)
    head = f"**{label}** — {score_in_words(verdict['anomaly_score'])} of {literal(verdict['class_name'])}"
    reasoning = str(verdict["reasoning"])
    if verdict["status"] == "vision_only" and verdict.get("notice"):
        reasoning = reasoning.replace(verdict["notice"], "").strip()
    return "\n".join([class_note, head, "", literal(reasoning)]).strip()


def verdict_content(verdict: dict, class_note: str = "", sheet: str | None = None):
    """The verdict's chat message content: its text, then the sheet the model was shown (`sheet`: the published
    path) — a video's frame sheet (every sampled frame with its time and score, beside the frame whose overlay
    the panel shows) or a point cloud's views (its render's part from four sides, the flagged region outlined).
    A still image's: the text alone."""
    text = verdict_message(verdict, class_note)
    return [text, {"path": sheet}] if sheet else text


def panel_for(evidence, verdict: dict | None, options, images, copies, model: str | None,
              missing_rules: str = "") -> PanelValues:
    """The panel for gathered evidence (before the verdict: a pending card), drawn with the request's options;
    images are published to `images` (an `ImageFolder`) and given as paths."""
    references = [r.to_dict() for r in evidence.references]
    shown = options.reference_images if model else None
    card = verdict_card(verdict) if verdict else pending_card(evidence.class_name, len(references))
    overlay = images.publish(for_display(evidence.overlay(options.overlay_style)))
    return PanelValues(card, overlay, gallery_items(references, copies, shown, images),
                       rules_table([r.to_dict() for r in evidence.rules], not options.rules, missing_rules), verdict)


def empty_panel(card: str | None = None) -> PanelValues:
    return PanelValues(card or empty_card(), None, [], rules_table([]), None)


def gathering_card() -> str:
    return ('<div class="nc-card nc-pending"><div class="nc-label">…</div><div>Gathering the evidence: nearest '
            "normal references, rules, anomaly map…</div></div>")
