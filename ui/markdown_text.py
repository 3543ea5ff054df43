"""Text from data (model answers, rule texts, file names, class names, questions) made literal for the
chat's Markdown: shown character for character, never turned into an image, a link or HTML.

Gradio renders chat bubbles and Markdown components as Markdown with sanitised HTML, and the browser
fetches any image that survives sanitising — a way out of an air-gapped site. So every character that
Markdown or HTML treats as markup is escaped: `<`, `>` and `&` as HTML entities (shown as themselves),
Markdown punctuation with a backslash, and the `:` of a URL scheme so a bare URL is not linked either.
"""

from __future__ import annotations

import re

HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$\"'=:])")


def literal(text) -> str:
    """`text` (any value, shown as `str`) as Markdown that renders exactly that text."""
    escaped = PUNCTUATION.sub(r"\\\1", str(text))
    return "".join(HTML.get(char, char) for char in escaped)
