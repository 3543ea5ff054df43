"""The kinds of defect a class's text heads learn to tell apart, in words, and which of them a normality names.

The synthetic anomalies CLAD trains on have kinds (`synthetic.ANOMALY_KINDS`). Each kind's patches are
paired with texts of that kind ("a stain on a brick"), so the space keeps stains apart from scratches; a
normality added by text ("a stain is acceptable") is then contrasted with the kinds it does not name, and
suppresses a patch only where it looks more like the added normality than like a normal part *or* another
kind of defect (`space.contrast_map`). A kind is named by a normality when a word of its appearance is one
of the kind's names (after a crude stemming: "stains", "stained" -> "stain"). Pure functions.
"""

from __future__ import annotations

import re

KIND_TEXTS = {
    "cut_paste": ("a {cls} with a piece out of place", "a {cls} with a misplaced patch",
                  "a patch of {cls} pasted in the wrong place"),
    "scratch": ("a scratch on a {cls}", "a {cls} with a thin scratch", "a scratched {cls}",
                "a thin line scratched across a {cls}"),
    "stain": ("a stain on a {cls}", "a {cls} with a coloured stain", "a stained {cls}",
              "a discoloured spot on a {cls}"),
    "perlin": ("a {cls} with a blotch", "a blotchy {cls}", "a {cls} with an irregular blotch of foreign texture"),
}
KIND_NAMES = {
    "cut_paste": ("misplaced", "pasted", "piece", "patch"),
    "scratch": ("scratch", "line", "scrape", "streak"),
    "stain": ("stain", "spot", "discolouration", "discoloration", "discoloured", "discolored", "smudge", "blot"),
    "perlin": ("blotch", "blotchy", "mottle", "mottled"),
}

FILLER = frozenset({"a", "an", "the", "of", "on", "in", "into", "to", "at", "with", "without", "and", "or", "is",
                    "are", "photo", "close", "up", "cropped", "pictur", "imag"})


def stem(word: str) -> str:
    """Crude: lower case, "-ed" / "-s" / "-e" / "-y" taken off ("stained", "stains" -> "stain")."""
    word = word.lower()
    for suffix in ("ed", "s", "e", "y"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
    return word


def words(text: str) -> set[str]:
    """The stemmed words of a text that can name something (articles, prepositions and "photo" left out)."""
    return {stem(w) for w in re.findall(r"[A-Za-z]+", text)} - FILLER


def kind_texts(class_words: str) -> dict[str, tuple[str, ...]]:
    """{kind: its texts for the class} ("a stain on a brick", ...), kinds in `KIND_TEXTS` order."""
    return {kind: tuple(t.format(cls=class_words) for t in texts) for kind, texts in KIND_TEXTS.items()}


def named_kinds(appearance: str) -> tuple[str, ...]:
    """The defect kinds a normality's appearance names ("a faint stain" -> ("stain",))."""
    said = words(appearance)
    return tuple(kind for kind, names in KIND_NAMES.items() if said & {stem(n) for n in names})


def other_kinds(appearance: str, class_words: str) -> dict[str, tuple[str, ...]]:
    """The texts of the kinds the appearance does not name."""
    named = named_kinds(appearance)
    return {kind: texts for kind, texts in kind_texts(class_words).items() if kind not in named}


def other_defects(appearance: str, class_words: str, defect_texts=()) -> list[tuple[str, ...]]:
    """What an added normality is contrasted with: the texts of each kind it does not name, then (as one
    more ensemble) those of the class's own defect texts that share no word with it beyond the class's
    ("a brick with a stain" names a stain; "a photo of a damaged brick" does not)."""
    said, named = words(appearance) - words(class_words), set(named_kinds(appearance))
    kept = tuple(t for t in defect_texts if not words(t) & said and not named & set(named_kinds(t)))
    return [*other_kinds(appearance, class_words).values(), *([kept] if kept else [])]
