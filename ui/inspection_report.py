"""One inspection as a self-contained HTML report: every image embedded as a data URI (query, overlay,
references), the rules, the verdict, the chat turns, and the provenance (model, encoder, config hash).
No external URL, script or font: it opens the same on an air-gapped machine or attached to a ticket.
"""

from __future__ import annotations

import base64
import io
import json
from html import escape
from pathlib import Path

from assistant.verdict import DEFAULT_QUESTION, score_in_words, verdict_label
from ui.evidence_panel import region_words

MAX_SIDE = 768
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;color:#1f2937;
padding:0 1rem;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #e5e7eb}
.label{display:inline-block;padding:.15rem .7rem;border-radius:.4rem;font-weight:700;color:#fff}
.PASS{background:#15803d} .FAIL{background:#b91c1c} .NEEDS{background:#b45309} .OUT{background:#6d28d9}
table{border-collapse:collapse;width:100%;font-size:.9rem} td,th{border:1px solid #e5e7eb;padding:.3rem .5rem;
text-align:left;vertical-align:top} th{background:#f9fafb}
figure{display:inline-block;margin:.3rem;text-align:center;font-size:.8rem;max-width:15rem}
figure img{max-width:15rem;max-height:15rem;border:1px solid #d1d5db}
.turn{margin:.6rem 0;padding:.5rem .8rem;border-radius:.5rem;white-space:pre-wrap}
.q{background:#eff6ff} .a{background:#f3f4f6} pre{background:#f9fafb;padding:.8rem;overflow-x:auto;font-size:.8rem}
"""


def data_uri(image) -> str:
    """A PIL image as a PNG data URI (longest side at most MAX_SIDE px)."""
    copy = image.convert("RGB").copy()
    copy.thumbnail((MAX_SIDE, MAX_SIDE))
    buffer = io.BytesIO()
    copy.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(image, caption: str) -> str:
    text = escape(caption)
    return f'<figure><img src="{data_uri(image)}" alt="{text}"><figcaption>{text}</figcaption></figure>'


def _rows(pairs) -> str:
    return "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in pairs)


def _provenance(record: dict, verdict: dict, file_name: str, feedback: dict | None) -> str:
    label = verdict_label(verdict)
    score = float(verdict["anomaly_score"])
    pairs = [("inspection", record["id"]), ("time", record["time"]), ("file", file_name or "(not known)"),
             ("class", verdict["class_name"]), ("score", f"{score_in_words(score)} (anomaly score {score:.2f})"),
             ("class limit (map score)", verdict["threshold"]), ("map score", verdict["map_score"]),
             ("status", verdict["status"]), ("model", verdict.get("model") or "none (vision-only)"),
             ("encoder", record.get("encoder", "")), ("config hash", record.get("config_hash", "")),
             ("image sha256", verdict["image_sha256"]),
             ("defect region", region_words(verdict.get("defect_box"), verdict.get("mm_per_px"))),
             *_feedback_rows(feedback)]
    if record.get("options"):
        pairs.append(("options", json.dumps(record["options"], sort_keys=True)))
    return f'<p><span class="label {label.split()[0]}">{label}</span></p><table>{_rows(pairs)}</table>'


def _feedback_rows(feedback: dict | None) -> list[tuple[str, str]]:
    """The inspection's standing feedback (the latest the operator gave)."""
    if not feedback:
        return [("operator feedback", "none given")]
    rating = "verdict correct" if feedback["rating"] == "up" else "verdict wrong"
    label = f", corrected label: {feedback['label']}" if feedback.get("label") else ""
    return [("operator feedback", rating + label), ("operator comment", feedback.get("comment") or "(none)")]


def _references(verdict: dict, copies) -> str:
    figures = []
    for rank, ref in enumerate(verdict.get("references", []), start=1):
        image = copies.picture(ref["sha256"])
        if image is not None:
            distance = float(ref.get("distance") or 0)
            figures.append(_figure(image, f"#{rank} {Path(ref['path']).name} distance {distance:.3f}"))
    return "".join(figures) or "<p>No reference copies are available.</p>"


def _rules(verdict: dict) -> str:
    rules = verdict.get("rules", [])
    if not rules:
        return "<p>No rules were used.</p>"
    rows = "".join(f"<tr><td>{escape(r['kind'])}</td><td>{escape(r['severity'])}</td><td>{escape(r['id'])}</td>"
                   f"<td>{escape(r['text'])}</td></tr>" for r in rules)
    return f"<table><tr><th>kind</th><th>severity</th><th>id</th><th>text</th></tr>{rows}</table>"


def _turns(question: str | None, verdict: dict, turns) -> str:
    parts = [f'<div class="turn q">{escape(question or DEFAULT_QUESTION)}</div>',
             f'<div class="turn a">{escape(str(verdict["reasoning"]))}</div>']
    for asked, answered in turns:
        parts += [f'<div class="turn q">{escape(asked)}</div>', f'<div class="turn a">{escape(answered)}</div>']
    return "".join(parts)


def render_report(inspection, record: dict, copies, overlay_style: str = "all", *,
                  feedback: dict | None = None, crop=None) -> str:
    """The report of an inspection (with its evidence) and its run-log record, as one HTML string; `feedback`:
    its standing feedback record; `crop`: (box, image) of the look-closer region, shown when it was looked at."""
    verdict = inspection.verdict.to_dict()
    evidence = inspection.evidence
    source = record.get("source") or evidence.query.path        # the file the operator chose (its name)
    file_name = Path(source).name if source else ""
    images = _figure(evidence.query.image, f"inspected image {file_name}".strip()) + _figure(
        evidence.overlay(overlay_style), f"anomaly overlay ({overlay_style})")
    looked = any(q.lower().startswith(("look closer", "[look closer")) for q, _ in inspection.turns)
    if crop is not None and looked:
        images += _figure(crop[1], f"look closer: {region_words(crop[0])}")
    body = [f"<h1>Normalcy inspection {escape(inspection.id)}</h1>", _provenance(record, verdict, file_name, feedback),
            "<h2>Images</h2>", images, "<h2>Nearest normal references</h2>", _references(verdict, copies),
            "<h2>Rules</h2>", _rules(verdict), "<h2>Conversation</h2>",
            _turns(inspection.question, verdict, inspection.turns),
            "<h2>Verdict (JSON)</h2>", f"<pre>{escape(json.dumps(verdict, indent=2))}</pre>"]
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Normalcy inspection '
            f'{escape(inspection.id)}</title><style>{CSS}</style></head><body>{"".join(body)}</body></html>')
