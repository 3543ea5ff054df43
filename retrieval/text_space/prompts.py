"""Prompt ensembles per class: what a normal and an abnormal part of the class look like, in words.

WinCLIP's compositional prompts: state words ("flawless {}", "damaged {}", ...) filled with the class
name, each put into every photo template ("a cropped photo of the {}.", ...), plus the class's own
rules — a defect rule describes an abnormal part, a normality or accepted-noise rule a normal one (kept
verbatim and once prefixed with the class). A text map compares each patch with the mean feature of each
side (`retrieval.text_space.space.state_map`). Pure functions: same class and rules, same prompts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from retrieval.rule import ANY_CLASS, Rule

NORMAL_STATES = ("{}", "flawless {}", "perfect {}", "unblemished {}", "{} without flaw",
                 "{} without defect", "{} without damage")
ABNORMAL_STATES = ("damaged {}", "broken {}", "{} with flaw", "{} with a flaw", "{} with defect",
                   "{} with a defect", "{} with damage")
TEMPLATES = ("a cropped photo of the {}.", "a cropped photo of a {}.", "a close-up photo of a {}.",
             "a close-up photo of the {}.", "a bright photo of a {}.", "a bright photo of the {}.",
             "a dark photo of the {}.", "a dark photo of a {}.", "a jpeg corrupted photo of a {}.",
             "a jpeg corrupted photo of the {}.", "a blurry photo of the {}.", "a blurry photo of a {}.",
             "a photo of a {}.", "a photo of the {}.", "a photo of a small {}.", "a photo of the small {}.",
             "a photo of a large {}.", "a photo of the large {}.", "a photo of the {} for visual inspection.",
             "a photo of a {} for visual inspection.", "a photo of the {} for anomaly detection.",
             "a photo of a {} for anomaly detection.")
NORMAL_KINDS = ("normality", "accepted_noise")
ABNORMAL_KINDS = ("defect",)


@dataclass(frozen=True)
class PromptEnsemble:
    """The texts of one class's two states; each side is non-empty and free of repeats."""

    class_name: str
    normal: tuple[str, ...]
    abnormal: tuple[str, ...]


def spoken(class_name: str) -> str:
    """A class name as words: "metal_nut" -> "metal nut" (underscores, dashes and extra spaces go)."""
    words = class_name.replace("_", " ").replace("-", " ").split()
    if not words:
        raise ValueError(f"class name {class_name!r} has no words to put in a prompt")
    return " ".join(words)


def state_prompts(class_name: str, states: Iterable[str], templates: Iterable[str] = TEMPLATES) -> tuple[str, ...]:
    """Every state word filled with the class, inside every template (states outer, templates inner)."""
    noun = spoken(class_name)
    templates = tuple(templates)
    return _unique(template.format(state.format(noun)) for state in states for template in templates)


def rule_prompts(class_name: str, rules: Iterable[Rule], kinds: Iterable[str]) -> tuple[str, ...]:
    """The texts of the class's rules (or "*" rules) of `kinds`: verbatim, then after "a photo of a {class}:"."""
    kinds = tuple(kinds)
    texts = [" ".join(rule.text.split()) for rule in rules
             if rule.kind in kinds and rule.class_name in (class_name, ANY_CLASS)]
    noun = spoken(class_name)
    return _unique([*texts, *(f"a photo of a {noun}: {text[0].lower()}{text[1:]}" for text in texts)])


def class_prompts(class_name: str, rules: Iterable[Rule] = ()) -> PromptEnsemble:
    """The class's prompt ensemble: state words x templates, plus its rules on their side."""
    rules = tuple(rules)
    return PromptEnsemble(
        class_name=class_name,
        normal=_unique([*state_prompts(class_name, NORMAL_STATES), *rule_prompts(class_name, rules, NORMAL_KINDS)]),
        abnormal=_unique([*state_prompts(class_name, ABNORMAL_STATES),
                          *rule_prompts(class_name, rules, ABNORMAL_KINDS)]))


def _unique(texts: Iterable[str]) -> tuple[str, ...]:
    """Texts in first-seen order, each once."""
    return tuple(dict.fromkeys(texts))
