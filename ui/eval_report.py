"""Evaluation report: metrics.json (and optional curves and worst cases) → report.md and report.html.

The HTML is self-contained: inline CSS, inline SVG charts drawn here, images as base64 data URIs
(downscaled to ≤ 256 px); no scripts, no external assets. Every text from the data is escaped.

Inputs of `write_report(metrics, out_dir, curves=None, worst=None)`:
- metrics: the metrics.json object `{"classes": {NAME: {...}}, "mean": {...}, "config": {...}}`, and for a
  prompting ablation optionally `"strategies": {STRATEGY: {"classes": {NAME: {...}}, "mean": {...}}}`
  (`assistant.evaluation.metrics.metrics_document` builds both), and with a text map `"text_map"`
  (`assistant.evaluation.text_map_rows`: {"labels", "classes", "mean", ...}).
- curves: `{NAME: {"roc": {"fpr": [...], "tpr": [...]}, "pr": {"recall": [...], "precision": [...]}}}`,
  one `assistant.evaluation.metrics.curves(labels, scores)` per class.
- worst: `assistant.evaluation.metrics.worst_cases(records)`: a list of `{"kind": "false_positive" | "false_negative",
  "class_name", "path", "score", "status"}`, each optionally with "overlay" (an image path shown instead
  of "path"; listed in the Markdown table) and "reasoning" (the verdict's text).
- notes: lines the reader must see first (e.g. that the VLM rows of the ablation need --model).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from retrieval.atomic_file import write_text

COLUMNS = (("acc", "ACC"), ("balanced_acc", "bal. ACC"), ("auroc", "AUROC"), ("aupr", "AUPR"),
           ("aupr_normal_positive", "AUPR normal+ (paper)"), ("f1_at_thr", "F1@thr"), ("f1_max", "F1-max"),
           ("overkill", "overkill"), ("miss", "miss"), ("pixel_auroc", "pixel AUROC"), ("aupro", "AUPRO"),
           ("n", "n"), ("n_unparsed", "unparsed"))
BARS = (("auroc", "AUROC"), ("aupr", "AUPR"), ("acc", "ACC"), ("pixel_auroc", "pixel AUROC"))
NOTES = ("AUROC, AUPR and F1-max rank the continuous anomaly score; AUPR takes defective parts as the "
         "positive class. 'AUPR normal+ (paper)' is the source paper's convention (good parts positive), "
         "shown for comparison only.",
         "ACC, bal. ACC, overkill (good parts rejected / good parts), miss (defects passed / defects) and "
         "the confusion counts use the system's decisions; unparsed answers are kept and counted as what "
         "the system did (no decision = rejected). F1@thr rejects at anomaly score > 1.0.")
IMAGE_SIDE = 256
CSS = """body{font-family:system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;
margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,
th:first-child{text-align:left}tr.mean td{font-weight:bold;background:#f3f3f3}figure{display:inline-block;
margin:6px;vertical-align:top}figcaption{font-size:12px;max-width:256px}svg text{font-size:10px}
pre{background:#f6f6f6;padding:8px}.note{background:#fff4d6;border-left:4px solid #d9a400;padding:6px 10px}"""


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def class_table(metrics: Mapping) -> tuple[list[str], list[list[str]]]:
    """Per-class metrics and the mean row → (headers, rows of plain text)."""
    rows = [[name] + [_fmt(m.get(k)) for k, _ in COLUMNS] for name, m in metrics.get("classes", {}).items()]
    mean = metrics.get("mean") or {}
    rows.append(["mean"] + [_fmt(mean.get(k)) for k, _ in COLUMNS])
    return ["class"] + [h for _, h in COLUMNS], rows


def confusion_table(metrics: Mapping) -> tuple[list[str], list[list[str]]]:
    keys = ("tp", "fp", "tn", "fn")
    rows = [[name] + [_fmt(m.get(k)) for k in keys] for name, m in metrics.get("classes", {}).items()]
    headers = ["class", "TP (defect rejected)", "FP (good rejected)", "TN (good passed)",
               "FN (defect passed)"]
    return headers, rows


def ablation_table(metrics: Mapping) -> tuple[list[str], list[list[str]]] | None:
    """Strategies × classes, each cell "AUROC / ACC" (the paper's Fig. 4); None with < 2 strategies."""
    strategies = metrics.get("strategies") or {}
    if len(strategies) < 2:
        return None
    names = sorted({c for s in strategies.values() for c in s.get("classes", {})})
    rows = []
    for strategy, block in strategies.items():
        cells = [block.get("classes", {}).get(c, {}) for c in names] + [block.get("mean") or {}]
        rows.append([strategy] + [f"{_fmt(m.get('auroc'))} / {_fmt(m.get('acc'))}" for m in cells])
    return ["strategy (AUROC / ACC)"] + names + ["mean"], rows


def text_map_table(metrics: Mapping) -> tuple[list[str], list[list[str]]] | None:
    """Sources (few-shot alone, text map alone, fused) × classes, each cell "AUROC / pixel AUROC";
    None when the evaluation ran without a text map."""
    block = metrics.get("text_map")
    if not block:
        return None
    names = sorted(block["classes"])
    rows = []
    for source, label in block["labels"].items():
        cells = [block["classes"][c][source] for c in names] + [block["mean"][source]]
        rows.append([label]
                    + [f"{_fmt(m.get('auroc'))} / {_fmt(m.get('pixel_auroc'))}" for m in cells])
    return [f"text map {block['provider']} (AUROC / pixel AUROC)"] + names + ["mean"], rows


def worst_table(worst: Sequence[Mapping]) -> tuple[list[str], list[list[str]]]:
    rows = [[w.get("class_name", ""), w.get("kind", "").replace("_", " "), _fmt(w.get("score")),
             w.get("status", ""), str(w.get("path", "")), str(w.get("overlay") or "–")] for w in worst]
    return ["class", "kind", "score", "status", "image", "overlay"], rows


def _md_cell(text) -> str:
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(map(_md_cell, headers)) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(map(_md_cell, r)) + " |" for r in rows]) + "\n"


def _html_table(headers: list[str], rows: list[list[str]], mean_last: bool = False) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = [f'<tr{" class=mean" if mean_last and i == len(rows) - 1 else ""}>'
            + "".join(f"<td>{_esc(c)}</td>" for c in r) + "</tr>" for i, r in enumerate(rows)]
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def render_markdown(metrics: Mapping, worst: Sequence[Mapping] | None = None, notes: Sequence[str] = ()) -> str:
    parts = ["# Normalcy evaluation report\n"] + [f"> **Note:** {_md_cell(n)}\n" for n in notes]
    parts += ["## Per class\n", _md_table(*class_table(metrics)),
             "## Confusion counts\n", _md_table(*confusion_table(metrics))]
    ablation = ablation_table(metrics)
    if ablation:
        parts += ["## Prompting strategies\n", _md_table(*ablation)]
    text_maps = text_map_table(metrics)
    if text_maps:
        parts += ["## Text map\n", _md_table(*text_maps)]
    if worst:
        parts += ["## Worst false positives and false negatives\n", _md_table(*worst_table(worst))]
    parts += ["## Notes\n"] + [f"- {n}" for n in NOTES]
    parts += ["\n## Config\n", "```json", json.dumps(metrics.get("config", {}), indent=2, default=str), "```"]
    return "\n".join(parts) + "\n"


def _downsample(xs: Sequence[float], ys: Sequence[float], limit: int = 400) -> list[tuple[float, float]]:
    """At most `limit` points of the curve, evenly spaced by index, both ends kept."""
    n = min(len(xs), len(ys))
    step = max(1, -(-n // limit))
    idx = list(range(0, n, step)) + ([n - 1] if n and (n - 1) % step else [])
    return [(float(xs[i]), float(ys[i])) for i in idx]


def curve_svg(title: str, xs, ys, x_label: str, y_label: str, diagonal: bool) -> str:
    """A unit-square curve as a 240×240 inline SVG (x, y in [0, 1])."""
    pts = " ".join(f"{30 + 200 * x:.1f},{210 - 200 * y:.1f}" for x, y in _downsample(xs, ys))
    diag = '<line x1="30" y1="210" x2="230" y2="10" stroke="#bbb" stroke-dasharray="4"/>' if diagonal else ""
    return (f'<svg width="240" height="245" viewBox="0 0 240 245" role="img"><title>{_esc(title)}</title>'
            '<rect x="30" y="10" width="200" height="200" fill="none" stroke="#888"/>' + diag
            + f'<polyline points="{pts}" fill="none" stroke="#1f5fbf" stroke-width="2"/>'
            f'<text x="130" y="228" text-anchor="middle">{_esc(x_label)}</text>'
            f'<text x="12" y="110" text-anchor="middle" transform="rotate(-90 12 110)">{_esc(y_label)}</text>'
            '<text x="26" y="214" text-anchor="end">0</text><text x="26" y="14" text-anchor="end">1</text>'
            '<text x="230" y="222" text-anchor="end">1</text></svg>')


def bar_svg(title: str, items: Sequence[tuple[str, float | None]]) -> str:
    """Horizontal bars in [0, 1], one per (label, value); None is drawn as "n/a"."""
    rows = []
    for i, (label, value) in enumerate(items):
        y = 20 + 18 * i
        width = 0.0 if value is None else 200 * max(0.0, min(1.0, value))
        shown = "n/a" if value is None else _fmt(value)
        rows.append(f'<text x="125" y="{y + 11}" text-anchor="end">{_esc(label[:24])}</text>'
                    f'<rect x="130" y="{y}" width="{width:.1f}" height="14" fill="#3c8d5a"/>'
                    f'<text x="{134 + width:.1f}" y="{y + 11}">{_esc(shown)}</text>')
    height = 28 + 18 * len(items)
    return (f'<svg width="380" height="{height}" viewBox="0 0 380 {height}" role="img">'
            f'<title>{_esc(title)}</title><text x="0" y="12" font-weight="bold">{_esc(title)}</text>'
            + "".join(rows) + "</svg>")


def _image_uri(path) -> str | None:
    """The image downscaled to ≤ IMAGE_SIDE px as a PNG data URI; None when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            img.thumbnail((IMAGE_SIDE, IMAGE_SIDE))
            buf = io.BytesIO()
            img.save(buf, format="PNG")
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _worst_html(worst: Sequence[Mapping]) -> str:
    figures = []
    for w in worst:
        shown = w.get("overlay") or w.get("path", "")
        uri = _image_uri(shown) if shown else None
        img = f'<img src="{uri}" alt="{_esc(shown)}">' if uri else f"<p>(unavailable: {_esc(shown)})</p>"
        kind = w.get("kind", "").replace("_", " ")
        caption = (f"{_esc(w.get('class_name', ''))}: {_esc(kind)}, score {_esc(_fmt(w.get('score')))}, "
                   f"{_esc(w.get('status', ''))}<br>{_esc(w.get('path', ''))}")
        if w.get("reasoning"):
            caption += f"<br><i>{_esc(w['reasoning'])}</i>"
        figures.append(f"<figure>{img}<figcaption>{caption}</figcaption></figure>")
    return "".join(figures)


def _curves_html(curves: Mapping) -> str:
    figures = []
    for name, c in curves.items():
        if not c:
            continue
        roc, pr = c.get("roc", {}), c.get("pr", {})
        roc_svg = curve_svg(f"ROC {name}", roc.get("fpr", []), roc.get("tpr", []), "FPR", "TPR", True)
        pr_svg = curve_svg(f"PR {name}", pr.get("recall", []), pr.get("precision", []),
                           "recall", "precision", False)
        figures.append(f"<figure>{roc_svg}<figcaption>ROC — {_esc(name)}</figcaption></figure>")
        figures.append(f"<figure>{pr_svg}<figcaption>PR (defective +) — {_esc(name)}</figcaption></figure>")
    return "".join(figures)


def _bars_html(metrics: Mapping) -> str:
    classes = metrics.get("classes", {})
    charts = []
    for key, title in BARS:
        items = [(name, m.get(key)) for name, m in classes.items()]
        if any(v is not None for _, v in items):
            charts.append(f"<figure>{bar_svg(title, items)}</figure>")
    return "".join(charts)


def render_html(metrics: Mapping, curves: Mapping | None = None,
                worst: Sequence[Mapping] | None = None, notes: Sequence[str] = ()) -> str:
    mean = metrics.get("mean") or {}
    summary = (f"{len(metrics.get('classes', {}))} class(es), {_fmt(mean.get('n'))} image(s), "
               f"{_fmt(mean.get('n_unparsed'))} unparsed answer(s) kept in the metrics.")
    parts = [f"<h1>Normalcy evaluation report</h1><p>{_esc(summary)}</p>"]
    parts += [f'<p class="note"><b>Note:</b> {_esc(n)}</p>' for n in notes]
    parts += ["<h2>Per class</h2>", _html_table(*class_table(metrics), mean_last=True), _bars_html(metrics)]
    if curves:
        parts += ["<h2>ROC and PR curves</h2>", _curves_html(curves)]
    parts += ["<h2>Confusion counts</h2>", _html_table(*confusion_table(metrics))]
    ablation = ablation_table(metrics)
    if ablation:
        parts += ["<h2>Prompting strategies</h2>", _html_table(*ablation)]
    text_maps = text_map_table(metrics)
    if text_maps:
        parts += ["<h2>Text map</h2>", _html_table(*text_maps)]
    if worst:
        parts += ["<h2>Worst false positives and false negatives</h2>", _worst_html(worst)]
    config = json.dumps(metrics.get("config", {}), indent=2, default=str)
    parts += ["<h2>Notes</h2><ul>" + "".join(f"<li>{_esc(n)}</li>" for n in NOTES) + "</ul>",
              f"<h2>Config</h2><pre>{_esc(config)}</pre>"]
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Normalcy evaluation report</title><style>{CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def write_report(metrics: Mapping, out_dir, *, curves: Mapping | None = None,
                 worst: Sequence[Mapping] | None = None, notes: Sequence[str] = ()) -> tuple[Path, Path]:
    """Write OUT_DIR/report.md and OUT_DIR/report.html (each atomically) → their paths. `notes`: lines
    the reader must see first (e.g. that the VLM rows need a model), shown under the title."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, page = out / "report.md", out / "report.html"
    write_text(md, render_markdown(metrics, worst, notes))
    write_text(page, render_html(metrics, curves, worst, notes))
    return md, page
