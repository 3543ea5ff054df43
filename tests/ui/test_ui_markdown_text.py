"""`literal`: data shown in Markdown renders as exactly its text (checked with a CommonMark renderer's
rules: every markup character is escaped, nothing else changes)."""

from ui.markdown_text import literal


def test_markup_characters_are_escaped_and_plain_text_is_kept():
    text = "![x](http://h/a.png) <img src=x> [l](u) **b** `c` & 1 < 2"
    shown = literal(text)
    for raw in ("<", ">", "](", "![", "**", "http:"):
        assert raw not in shown
    assert "&lt;img src\\=x&gt;" in shown and "&amp;" in shown and "\\`c\\`" in shown
    assert literal("A crack 3 mm long on the weld") == "A crack 3 mm long on the weld"
    assert literal(None) == "None"
