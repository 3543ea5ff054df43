"""The texts a class's text map compares its patches with: what a normal part and a defect look like.

Normal: templates from the class name ("a photo of a flawless brick", ...) and the class's normality
rules. Abnormal: templates ("a photo of a damaged brick", ...) and its defect rules. Rules written for
every class ("*") are left out: they tell the model how to judge ("compare with the references"), they
do not describe what the part looks like. Accepted-noise rules are not here either: a normality added by
text suppresses the map (NAND) rather than changing what the map was trained on, so removing one
restores the scores exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

NORMAL_TEMPLATES = ("a photo of a flawless {}", "a photo of a normal {}", "a {} without defects",
                    "a photo of a good {}", "an undamaged {}")
ABNORMAL_TEMPLATES = ("a photo of a damaged {}", "a {} with a defect", "a photo of a {} with a scratch",
                      "a {} with a stain", "a photo of a broken {}")


@dataclass(frozen=True)
class StateTexts:
    normal: tuple[str, ...]
    abnormal: tuple[str, ...]


def class_words(class_name: str) -> str:
    """"solar_cell_mono" -> "solar cell mono": the class name as the words a sentence encoder reads."""
    return " ".join(class_name.replace("_", " ").replace("-", " ").split()) or class_name


def state_texts(workspace, class_name: str) -> StateTexts:
    """The class's normal and abnormal texts, templates first, then its rules sorted by id."""
    words = class_words(class_name)
    rules = sorted((r for r in workspace.rules.list(class_name) if r.class_name == class_name), key=lambda r: r.id)
    normal = [t.format(words) for t in NORMAL_TEMPLATES] + [r.text for r in rules if r.kind == "normality"]
    abnormal = [t.format(words) for t in ABNORMAL_TEMPLATES] + [r.text for r in rules if r.kind == "defect"]
    return StateTexts(tuple(normal), tuple(abnormal))
