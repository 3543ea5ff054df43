"""Operator actions in headless Chromium: off until there is an inspection, one standing feedback that can
be changed (the status line says which stands), a self-contradicting correction refused in plain words,
and a report that carries the feedback, the comment, the look-closer crop, the chosen file's name and the
overlay style selected now."""

import re

import pytest
from ui_test_tools import export_report
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
BUTTONS = ("#thumbs-up", "#thumbs-down", "#accept", "#export")


def test_feedback_stands_once_and_the_report_carries_it(browser, served_app, ui_inspector, good_image, tmp_path,
                                                         screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(served_app)
    expect(page.locator("#message textarea")).to_be_visible()
    for button in BUTTONS:
        expect(page.locator(button)).to_be_disabled()
    page.locator("#message input[type=file]").set_input_files(str(good_image))
    expect(page.locator("#message img").first).to_be_visible()
    page.locator("#message textarea").press("Enter")
    expect(page.locator("#verdict-card .nc-label")).to_have_text("PASS")
    for button in BUTTONS:
        expect(page.locator(button)).to_be_enabled()

    status = page.locator("#feedback-status")
    page.get_by_role("radio", name="normal", exact=True).check()
    page.locator("#thumbs-down").click()
    expect(status).to_contain_text("contradicts it")
    page.get_by_role("radio", name="no correction").check()
    page.locator("#thumbs-up").click()
    expect(status).to_contain_text("Feedback standing")
    expect(status).to_contain_text("verdict correct")
    page.get_by_role("radio", name="defective").check()
    page.locator("#comment textarea").fill("faint chip at the top edge")
    page.locator("#thumbs-down").click()
    expect(status).to_contain_text("verdict wrong, corrected label: defective")
    expect(status).to_contain_text("replaces the earlier feedback (verdict correct)")
    screenshots(page, "o1_feedback_standing")

    page.locator("#look-closer").click()
    expect(page.locator("#chat")).to_contain_text("Look closer at the region")
    page.locator("#strategy").get_by_text("Strategy").click()
    page.get_by_role("radio", name="contour").check()
    html = export_report(page, tmp_path / "report.html").read_text(encoding="utf-8")
    for expected in ("verdict wrong, corrected label: defective", "faint chip at the top edge", "look closer:",
                     good_image.name, "anomaly overlay (contour)"):
        assert expected in html, expected
    assert "None" not in re.sub(r"<pre>.*?</pre>", "", html, flags=re.S)
    given = [r for r in ui_inspector.log.records() if r["kind"] == "feedback"
             and r["comment"] == "faint chip at the top edge"]
    assert len(given) == 1 and given[0]["label"] == "defective"
    refused = [r for r in ui_inspector.log.records() if r["kind"] == "feedback" and r["rating"] == "down"
               and r["label"] == "normal" and r["inspection"] == given[0]["inspection"]]
    assert not refused, "the contradicting feedback was not stored"

    page.get_by_role("tab", name="History").click()
    newest = page.locator("#history-table").get_by_role("row").nth(1)          # row 0 is the header
    for expected in (good_image.name, "PASS", "under the class limit", "verdict wrong, corrected label: defective"):
        # by the row's accessible name: a cell's text content also holds its (recycled) editor's old value
        expect(newest).to_have_accessible_name(re.compile(re.escape(expected)))
    screenshots(page, "o3_history")
    page.get_by_role("tab", name="Inspect").click()
    page.locator("#new-inspection").click()
    for button in BUTTONS:
        expect(page.locator(button)).to_be_disabled()
    expect(page.locator("#comment textarea")).to_have_value("")          # the form starts over
    expect(page.locator("#report-file")).to_be_hidden()
    expect(page.get_by_role("radio", name="no correction")).to_be_checked()
    screenshots(page, "o2_after_new")
    context.close()
