"""The texts a normality added by text is read through: its phrases, and the class's normal prompts.

NAND turns an operator's sentence ("thin dark lines along the border are normal") into several phrases
describing the appearance that is now acceptable; their mean text feature f_add takes the place of the
abnormal feature in the two-state map, against the class's normal prompts (`state_map`). The phrases come
from templates and a fixed paraphrase set around the appearance the sentence names (its verdict words
"... is normal / acceptable / fine" taken off), so the same sentence always gives the same phrases.
"""

from __future__ import annotations

import re

# "X are normal", "X is acceptable here", "X: ok" -> X
VERDICT = re.compile(r"\s*(?:[:,\-]\s*|\s+(?:is|are)\s+(?:also\s+)?)(?:normal|acceptable|ok|okay|fine|allowed|"
                     r"not a defect|no defect)(?:\s+here)?\s*[.!]*\s*$", re.IGNORECASE)
TEMPLATES = ("a photo of a {cls} with {what}", "a photo of {what} on a {cls}", "a close-up photo of {what}",
             "a {cls} showing {what}", "{what}")
PARAPHRASES = ("{what} is acceptable on a {cls}", "a normal {cls} with {what}", "an acceptable {cls} with {what}")
NORMAL_PROMPTS = ("a photo of a flawless {cls}", "a photo of a normal {cls}", "a photo of a {cls} without defect",
                  "a photo of a perfect {cls}", "a photo of a good {cls}", "a cropped photo of an unblemished {cls}")


def appearance(text: str) -> str:
    """The appearance an operator's sentence names: "thin dark lines are normal" -> "thin dark lines"."""
    what = VERDICT.sub("", " ".join(text.split())).strip(" .") or " ".join(text.split())
    first = what.split()[0]
    lowered = len(first) == 1 or first[1:].islower()         # "A thread", "Dust" -> lower case; "UV marks" stays
    return what[0].lower() + what[1:] if lowered else what


def readable(class_name: str) -> str:
    """A class name as words ("metal_nut" -> "metal nut")."""
    return re.sub(r"[_\-]+", " ", class_name).strip() or class_name


def normality_phrases(text: str, class_name: str) -> tuple[str, ...]:
    """The phrases of one added normality: templates and paraphrases around its appearance, and the
    sentence itself; no duplicates, in a fixed order."""
    what, cls = appearance(text), readable(class_name)
    found = [t.format(what=what, cls=cls) for t in (*TEMPLATES, *PARAPHRASES)] + [" ".join(text.split())]
    return tuple(dict.fromkeys(found))


def normal_prompts(class_name: str) -> tuple[str, ...]:
    """The prompts of a normal part of the class (the "normal" side of the suppression map)."""
    return tuple(t.format(cls=readable(class_name)) for t in NORMAL_PROMPTS)
