"""Vision-only follow-ups in headless Chromium answer the question asked: where (the verdict's own box, a
crop, its size), which rule (ranked for the region, with why), compare (the part beside its nearest
reference, as an image in the chat), and anything else says what this mode can answer."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _ask(page, question, marker):
    """Ask, wait for the answer's `marker` text, and return the chat's text."""
    page.locator("#message textarea").fill(question)
    page.locator("#message textarea").press("Enter")
    expect(page.locator("#chat")).to_contain_text(marker)
    return page.locator("#chat").inner_text()


def test_follow_ups_answer_the_question_asked(browser, served_app, defect_image, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(served_app)
    page.locator("#message input[type=file]").set_input_files(str(defect_image))
    expect(page.locator("#message img").first).to_be_visible()
    page.locator("#message textarea").press("Enter")
    expect(page.locator("#verdict-card .nc-label")).to_have_text("FAIL")
    box = re.search(r"x \d+-\d+, y \d+-\d+ px \(\d+×\d+ px\)", page.locator("#verdict-card").inner_text()).group(0)

    pictures = page.locator("#chat img")
    expect(pictures).to_have_count(1)                                           # the part
    _ask(page, "Where exactly?", f"the verdict's box, {box}")
    expect(pictures).to_have_count(2)                                           # + the crop
    chat = _ask(page, "which rule applies?", "most applicable first")
    first = re.search(r"1\. \[[^\]]+\] \((\w+),", chat)
    assert first and first.group(1) == "defect" and "why:" in chat, chat
    _ask(page, "compare with the closest reference", "Right: the nearest normal reference")
    expect(pictures).to_have_count(3)                                           # + part beside reference
    chat = _ask(page, "what colour is it?", "Without a language model I answer from the evidence")
    assert chat.count("The defect region is the verdict's box") == 1 and chat.count("most applicable first") == 1
    screenshots(page, "f1_follow_ups")
    context.close()
