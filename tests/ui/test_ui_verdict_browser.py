"""The verdict as an operator reads it, in headless Chromium at 1280×720 and 768 px: a short card with the
label and the score in words, the same rounding in the chat, the reasoning once, the vision-only notice
once, the box drawn on the default overlay, captions that are not cut, defects first among the rules —
and a layout where the upload box is on the first screen and, on a narrow one, the verdict comes before
the operator actions."""

import re

import pytest
from playwright.sync_api import expect

from ui_test_tools import open_page

pytestmark = pytest.mark.browser
VERDICT = re.compile("^(PASS|FAIL|NEEDS REVIEW|OUT OF DISTRIBUTION)$")
IN_WORDS = re.compile(r"(\d+ % (over|under) the class limit|at the class limit)")


def _inspect(page, image):
    page.locator("#message input[type=file]").set_input_files(str(image))
    expect(page.locator("#message img").first).to_be_visible()
    page.locator("#message textarea").press("Enter")
    expect(page.locator("#verdict-card .nc-label")).to_have_text(VERDICT)


def test_the_card_is_short_and_agrees_with_the_chat(browser, served_app, defect_image, screenshots):
    context, page = open_page(browser, served_app, 1280, 720)
    box = page.locator("#message").bounding_box()
    assert box["y"] + box["height"] <= 720, f"the message box ends at {box['y'] + box['height']} px, below the fold"
    screenshots(page, "v0_first_screen_1280")
    _inspect(page, defect_image)
    card = page.locator("#verdict-card").inner_text()
    words = IN_WORDS.search(card)
    assert words, card
    assert "threshold" not in card and "Nearest normal reference" not in card     # no jargon, no reasoning
    chat = page.locator("#chat").inner_text()
    assert words.group(1) in chat                                               # the same rounding
    assert chat.count("Nearest normal reference") == 1                          # the reasoning once
    assert "No language model is configured" not in chat                       # said once, at the top
    expect(page.locator("#mode-notice")).to_contain_text("Vision-only mode")
    page.locator("#strategy").get_by_text("Strategy").click()
    expect(page.get_by_role("radio", name="all")).to_be_checked()                          # the box is drawn by default
    kinds = page.locator("#rules-panel td.nc-kind").all_inner_texts()
    assert kinds[0] == "defect" and kinds.index("defect") < kinds.index("accepted_noise")
    kinds_order = [0 if k == "defect" else 1 for k in kinds]
    assert kinds_order == sorted(kinds_order), kinds
    cut = page.evaluate("""() => [...document.querySelectorAll('#references .caption-label')]
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)""")
    assert not cut, f"captions cut: {cut}"
    page.locator("#strategy").get_by_text("Strategy").click()
    screenshots(page, "v1_verdict_1280")
    context.close()


def test_on_a_narrow_screen_the_verdict_comes_before_the_operator_actions(browser, served_app, defect_image,
                                                                          screenshots):
    context, page = open_page(browser, served_app, 768, 1024)
    _inspect(page, defect_image)
    card, operator = page.locator("#verdict-card").bounding_box(), page.locator("#operator").bounding_box()
    message = page.locator("#message").bounding_box()
    assert message["y"] < card["y"] < operator["y"], (message, card, operator)
    screenshots(page, "v2_verdict_768")
    context.close()
