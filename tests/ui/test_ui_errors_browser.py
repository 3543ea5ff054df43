"""Errors in headless Chromium: one plain line where the operator is looking, naming the file they chose;
no error badge over an input; the last good verdict stays until a new one replaces it — in the Inspect
tab and in the Rules tab."""

import re

import pytest
from playwright.sync_api import expect

from ui_test_tools import open_page

pytestmark = pytest.mark.browser
VERDICT = re.compile("PASS|FAIL|NEEDS REVIEW|OUT OF DISTRIBUTION")


def _send(page, files=(), text=""):
    if files:
        page.locator("#message input[type=file]").set_input_files([str(f) for f in files])
    page.locator("#message textarea").fill(text)
    page.locator("#message textarea").press("Enter")


def _no_error_badges(page):
    """Gradio marks every output of a failed event with an "Error" badge; none may appear."""
    page.wait_for_timeout(300)
    expect(page.locator("span.error:not(.toast-title)")).to_have_count(0)


def test_chat_errors_are_one_line_and_keep_the_last_verdict(browser, served_app, defect_image, tmp_path,
                                                            screenshots):
    context, page = open_page(browser, served_app)
    _send(page, text="is it cracked?")
    error = page.locator("#chat-error")
    expect(error).to_contain_text("Attach an image of the part first")
    _no_error_badges(page)
    expect(page.locator("#message textarea")).to_have_value("is it cracked?")     # what was typed stays
    page.locator("#message textarea").click()                                     # nothing covers it
    screenshots(page, "e1_text_before_image")

    _send(page, [defect_image])
    expect(page.locator("#verdict-card .nc-label")).to_have_text(VERDICT)
    expect(error).to_be_hidden()
    card = page.locator("#verdict-card").text_content()
    overlay = page.locator("#overlay img").get_attribute("src")

    broken = tmp_path / "line3_part_0042.png"
    broken.write_bytes(defect_image.read_bytes()[:400])
    _send(page, [broken])
    expect(error).to_contain_text("line3_part_0042.png is truncated or corrupt")
    assert "/tmp" not in error.inner_text() and "gradio" not in error.inner_text()
    assert page.locator("#verdict-card").text_content() == card               # the last good verdict stays
    assert page.locator("#overlay img").get_attribute("src") == overlay
    expect(page.locator("#chat img").first).to_have_attribute("src", re.compile(defect_image.name))
    _no_error_badges(page)
    screenshots(page, "e2_truncated_png")

    pdf = tmp_path / "drawing.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    _send(page, [pdf])
    page.wait_for_timeout(1500)
    shown = [t for t in [error.inner_text() if error.is_visible() else ""] +
             page.locator(".toast-body").all_inner_texts() if t.strip()]
    assert len(shown) == 1, f"exactly one error message, got {shown}"
    assert page.locator("#verdict-card").text_content() == card
    screenshots(page, "e3_pdf")
    _no_error_badges(page)
    context.close()


def test_rules_tab_errors_replace_the_saved_line(browser, served_app, screenshots):
    context, page = open_page(browser, served_app)
    page.get_by_role("tab", name="Rules").click()
    expect(page.locator("#rules-table")).to_contain_text("shipped (read-only)")
    page.locator("#rule-text textarea").fill("A chipped corner over 2 mm is a defect.")
    page.locator("#rule-save").click()
    status = page.locator("#rule-status")
    expect(status).to_contain_text("Added rule")
    page.locator("#rule-text textarea").fill("   ")
    page.locator("#rule-save").click()
    expect(status).to_contain_text("The rule text is empty")
    expect(status).not_to_contain_text("Saved rule")
    expect(status).not_to_contain_text("Added rule")
    _no_error_badges(page)
    screenshots(page, "e4_rules_error")

    page.locator("#rule-delete").click()                       # the rule just added is still picked
    expect(page.locator("#rule-delete-confirm")).to_be_visible()
    expect(status).to_contain_text("This cannot be undone")
    page.locator("#rule-delete-no").click()
    expect(status).to_contain_text("Nothing was deleted")
    expect(page.locator("#rules-table")).to_contain_text("A chipped corner over 2 mm")
    page.locator("#rule-delete").click()
    page.locator("#rule-delete-yes").click()
    expect(status).to_contain_text("Deleted rule")
    expect(page.locator("#rules-table")).not_to_contain_text("A chipped corner over 2 mm")
    context.close()
