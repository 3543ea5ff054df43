"""Phrases of a normality added by text, written by the configured language model (NAND's paper has a
language model paraphrase the new normality; the templates of `normality_phrases` are the fallback).

The model is asked, once per added normality, for a few short noun phrases describing the appearance the
operator's sentence names (`prompts/normality.yaml`); its answer is read line by line and kept only where
a line reads as a phrase (letters, 1 to 16 words). They are stored with the normality, so its suppression
map never depends on the model again, and removing it restores the scores exactly. A model that fails or
answers nothing usable leaves the template phrases, and says so.
"""

from __future__ import annotations

import logging
import re

from retrieval.errors import NormalcyError
from retrieval.text_space.normality_phrases import appearance, readable

MAX_PHRASES = 5
MAX_NEW_TOKENS = 96
BULLET = re.compile(r"^\s*(?:[-*\u2022]+|\(?\d{1,2}[.):]|[a-e][.)])\s*")
log = logging.getLogger(__name__)


def parse_phrases(answer: str, limit: int = MAX_PHRASES) -> tuple[str, ...]:
    """A model's answer -> at most `limit` phrases: one per line, bullets, numbers and quotes taken off,
    lines that are not a phrase of 1-16 mostly alphabetic words dropped, duplicates (any case) once."""
    found: dict[str, str] = {}
    for line in answer.splitlines():
        phrase = BULLET.sub("", line).strip().strip("\"'`").strip(" .;,")
        words = phrase.split()
        letters = sum(c.isalpha() for c in phrase)
        if 1 <= len(words) <= 16 and len(phrase) <= 120 and letters >= 0.7 * len(phrase.replace(" ", "")):
            found.setdefault(phrase.casefold(), " ".join(words))
    return tuple(found.values())[:limit]


def model_phrases(backend, text: str, class_name: str) -> tuple[tuple[str, ...], str]:
    """(phrases, who wrote them) for an operator's sentence: the model's, or () and why not."""
    from assistant.reasoning.prompt_builder import render
    from assistant.vlm.messages import user

    prompt = render("normality", "phrases", what=appearance(text), cls=readable(class_name), n=MAX_PHRASES)
    try:
        answer = backend.generate([user(prompt)], max_new_tokens=MAX_NEW_TOKENS).text
    except (NormalcyError, OSError, RuntimeError, ValueError) as exc:
        log.warning("the language model wrote no normality phrases (%s); the template phrases are used", exc)
        return (), f"templates (model {backend.name} failed: {str(exc).splitlines()[0][:120]})"
    phrases = parse_phrases(answer)
    if not phrases:
        log.warning("the language model's answer held no usable phrase; the template phrases are used")
        return (), f"templates (model {backend.name} wrote no usable phrase)"
    return phrases, f"templates + model {backend.name}"


def phrase_writer(backend_of):
    """`NormalityBook`'s write_phrases over `backend_of()` (the configured model, loaded when first asked;
    None: vision-only, so no phrases of a model)."""
    def write(text: str, class_name: str):
        backend = backend_of()
        return None if backend is None else model_phrases(backend, text, class_name)
    return write
