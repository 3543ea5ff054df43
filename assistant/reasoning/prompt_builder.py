"""Prompt builder: the source paper's prompting strategies as switches over data-file templates.

`build_messages(strategy, query=..., class_name=..., question=..., rules=..., references=...,
overlay=...)` returns the backend-neutral message list for one inspection:

    [system,
     user: task (+ class context) (+ rules grouped by kind) (+ "the first k images are normal
           references ...", k labelled reference images) + the image to inspect
           (+ a video's frame sheet or a point cloud's views) (+ anomaly-map overlay and its caution line)
           (+ operator's question)
           + JSON format]

All prose lives in `assistant/reasoning/prompts/*.yaml`; the JSON the model must answer is generated from
`MODEL_SCHEMA`, never hand-written. Named strategies follow the paper's ablation (`STRATEGIES`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from PIL import Image

from assistant.verdict import MODEL_SCHEMA
from assistant.vlm.messages import ImagePart, Message, Part, TextPart
from retrieval.errors import ConfigError
from retrieval.rule import KINDS, Rule


@dataclass(frozen=True)
class Strategy:
    """Which evidence goes into the prompt. The task line is always there.

    class_context: name the product class. rules: the retrieved expert rules, grouped by kind.
    references: the k retrieved normal reference images. overlay: the anomaly-map overlay + caution.
    json_format: the answer format generated from MODEL_SCHEMA (needed by the parser; on by default).
    """

    name: str = "custom"
    class_context: bool = False
    rules: bool = False
    references: bool = False
    overlay: bool = False
    json_format: bool = True


STRATEGIES: dict[str, Strategy] = {
    "naive": Strategy("naive"),
    "class": Strategy("class", class_context=True),
    "rules": Strategy("rules", class_context=True, rules=True),
    "reference": Strategy("reference", class_context=True, references=True),
    "rules_reference": Strategy("rules_reference", class_context=True, rules=True, references=True),
    "overlay": Strategy("overlay", class_context=True, rules=True, references=True, overlay=True),
}


# a `Sheet`'s modality -> the word its templates end in (inspection.yaml: sheet_label, views_label, ...)
SHEET_KEYS = {"video": "sheet", "point_cloud": "views"}


def strategy(name: str) -> Strategy:
    if name not in STRATEGIES:
        raise ConfigError(f"unknown prompt strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return STRATEGIES[name]


@lru_cache(maxsize=None)
def templates(name: str) -> dict:
    """The named templates of `assistant/reasoning/prompts/<name>.yaml` (read once)."""
    import yaml

    text = resources.files("assistant.reasoning.prompts").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigError(f"prompt templates {name}.yaml must be a mapping of template names to text")
    return data


def templates_digest() -> str:
    """sha256 (16 hex digits) of every prompt template file: what a model's answers depend on."""
    import hashlib

    folder = resources.files("assistant.reasoning.prompts")
    texts = sorted((entry.name, entry.read_text(encoding="utf-8")) for entry in folder.iterdir()
                   if entry.name.endswith(".yaml"))
    return hashlib.sha256(repr(texts).encode()).hexdigest()[:16]


def render(group: str, *path: str, **values) -> str:
    """Fill the template at `group.path...` (e.g. "inspection", "rule_groups", "defect").

    A missing template or placeholder is a ConfigError naming it.
    """
    where = ".".join((group,) + path)
    try:
        template = templates(group)
        for key in path:
            template = template[key]
        return template.format(**values)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"prompt template {where}: missing {exc}") from None


def format_prompt() -> str:
    """The answer format: the JSON schema (from MODEL_SCHEMA) and one note per field."""
    notes = templates("inspection")["format_fields"]
    fields = list(MODEL_SCHEMA["properties"])
    if sorted(notes) != sorted(fields):
        raise ConfigError(f"prompt template inspection.format_fields must describe exactly {', '.join(fields)}")
    lines = [render("inspection", "format_intro"), json.dumps(MODEL_SCHEMA, separators=(", ", ": "))]
    return "\n".join(lines + [notes[field] for field in fields])


def rules_text(rules: list[Rule], class_name: str) -> str:
    """Rules grouped by kind (normality, defect, accepted noise), one line each; "" for none."""
    lines = []
    for kind in KINDS:
        group = [rule for rule in rules if rule.kind == kind]
        if group:
            lines.append(render("inspection", "rule_groups", kind, class_name=class_name))
            line = "defect_line" if kind == "defect" else "rule_line"
            lines.extend(render("inspection", line, text=r.text, severity=r.severity) for r in group)
    if not lines:
        return ""
    return "\n".join([render("inspection", "rules_intro", class_name=class_name)] + lines)


def build_messages(strategy: Strategy, *, query: Image.Image, class_name: str | None = None,
                   question: str | None = None, rules: list[Rule] | tuple = (),
                   references: list[Image.Image] | tuple = (), overlay: Image.Image | None = None,
                   sheet=None) -> list[Message]:
    """The message list for one inspection under `strategy`.

    Images appear in this order: references (if switched on and given), query, sheet (a `Sheet`: a video's
    frame sheet when the query is its frame, a point cloud's views when it is its render; every strategy
    shows it, in the words of its modality, `SHEET_KEYS`), overlay (if switched on and given). Evidence
    that is switched on but not given is left out, never invented.
    """
    refs = list(references) if strategy.references else []
    overlay = overlay if strategy.overlay else None
    name = class_name if strategy.class_context and class_name else None
    parts: list[Part] = [TextPart(_task(name))]
    if strategy.rules and rules:
        text = rules_text(list(rules), class_name or "the part")
        parts += [TextPart(text)] if text else []
    parts += _images(refs, query, overlay, name, sheet)
    if overlay is not None:
        parts.append(TextPart(render("inspection", "overlay_caution")))
    if question:
        parts.append(TextPart(render("inspection", "question", question=question)))
    if strategy.json_format:
        parts.append(TextPart(format_prompt()))
    return [Message("system", (TextPart(render("inspection", "system")),)), Message("user", tuple(parts))]


def _task(class_name: str | None) -> str:
    task = render("inspection", "task")
    return task + ("\n" + render("inspection", "class_context", class_name=class_name) if class_name else "")


def _sheet_key(sheet) -> str | None:
    """The templates' word for a sheet of this modality ("sheet_label", "references_intro_sheet", ...)."""
    if sheet is None:
        return None
    if sheet.modality not in SHEET_KEYS:
        raise ConfigError(f"no prompt wording for a sheet of modality {sheet.modality!r}; "
                          f"known: {', '.join(SHEET_KEYS)}")
    return SHEET_KEYS[sheet.modality]


def _images(refs: list, query: Image.Image, overlay: Image.Image | None, class_name: str | None,
            sheet=None) -> list[Part]:
    parts: list[Part] = []
    word = _sheet_key(sheet)
    with_sheet = f"_{word}" if word else ""          # the intro says where the sheet lies among the images
    if refs:
        key = ("references_intro_overlay" if overlay is not None else "references_intro") + with_sheet
        parts.append(TextPart(render("inspection", key, k=len(refs), class_name=class_name or "this part")))
    elif overlay is not None:
        parts.append(TextPart(render("inspection", "overlay_intro" + with_sheet)))
    label_key = "reference_label" if class_name else "reference_label_no_class"
    parts += [ImagePart(image, render("inspection", label_key, i=i, class_name=class_name))
              for i, image in enumerate(refs, start=1)]
    parts.append(ImagePart(query, render("inspection", "query_label")))
    if sheet is not None:
        parts.append(ImagePart(sheet.image, render("inspection", f"{word}_label")))
    if overlay is not None:
        parts.append(ImagePart(overlay, render("inspection", "overlay_label")))
    return parts
