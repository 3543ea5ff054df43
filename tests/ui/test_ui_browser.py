"""End to end in headless Chromium: upload an image, get the evidence and the verdict, ask a follow-up,
look closer, give feedback, export the report, reopen from History — and two sessions at once that
never see each other's chat images, while History (one local user, no logins) lists both inspections. The page must not request anything but the app itself."""

import base64
import re

import pytest
from ui_test_tools import export_report
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
VERDICT = re.compile("PASS|FAIL")


def _open(browser, url):
    """A fresh browser context (its own local storage: another person) on the app; records every request
    that leaves the app's origin."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    outside = []
    origin = url.rstrip("/")
    page.on("request", lambda r: None if r.url.startswith((origin, "data:", "blob:")) else outside.append(r.url))
    page.goto(url)
    expect(page.locator("#message textarea")).to_be_visible()
    return context, page, outside


def _upload(page, image, question=""):
    page.locator("#message input[type=file]").set_input_files(str(image))
    expect(page.locator("#message img").first).to_be_visible()
    page.locator("#message textarea").fill(question)
    page.locator("#message textarea").press("Enter")


# A file handed to the message box the way a browser does when one is pasted or dropped onto it.
HAND_OVER = """([b64, name, how]) => {
  const file = new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], name, {type: 'image/png'});
  const data = new DataTransfer();
  data.items.add(file);
  const box = document.querySelector('#message textarea');
  if (how === 'paste') {
    box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
    return;
  }
  for (const type of ['dragenter', 'dragover', 'drop'])
    box.dispatchEvent(new DragEvent(type, {dataTransfer: data, bubbles: true, cancelable: true}));
}"""


def _ask(page, question):
    page.locator("#message textarea").fill(question)
    page.locator("#message textarea").press("Enter")


def _inspection_ids(inspector, owner_prefix="browser:"):
    return {r["inspection"]: r["owner"] for r in inspector.log.records()
            if r["kind"] == "owner" and r["owner"].startswith(owner_prefix)}


def test_inspect_ask_feedback_export_and_reopen(browser, served_app, ui_inspector, defect_image, screenshots,
                                               tmp_path):
    context, page, outside = _open(browser, served_app)
    expect(page.locator("#mode-notice")).to_contain_text("Vision-only mode")
    _upload(page, defect_image, "is the mortar cracked?")
    expect(page.locator("#verdict-card .nc-label")).to_have_text(VERDICT)
    expect(page.locator("#class-note")).to_contain_text("brick")
    expect(page.locator("#references img")).to_have_count(8)
    expect(page.locator("#rules-panel table")).to_be_visible()
    screenshots(page, "01_verdict")
    overlay_before = page.locator("#overlay img").get_attribute("src")
    page.locator("#strategy").get_by_text("Strategy").click()
    page.get_by_label("contour").check()
    expect(page.locator("#overlay img")).not_to_have_attribute("src", overlay_before)
    page.locator("#raw-accordion").get_by_text("Raw verdict JSON").click()
    expect(page.locator("#raw-json")).to_contain_text('"reasoning": "No language model is configured')
    screenshots(page, "01b_strategy_and_raw_json")

    _ask(page, "which rule covers the mortar?")
    expect(page.locator("#chat")).to_contain_text("most applicable first")
    page.locator("#look-closer").click()
    expect(page.locator("#chat")).to_contain_text("Look closer at the region")
    expect(page.locator("#chat").get_by_text("The defect region is the verdict's box")).to_have_count(1)
    screenshots(page, "02_follow_up")

    page.get_by_role("radio", name="normal", exact=True).check()      # "wrong: it is normal" on a FAIL
    page.locator("#comment textarea").fill("hairline crack in the mortar")
    page.locator("#thumbs-down").click()
    expect(page.locator("#feedback-status")).to_contain_text("Feedback standing")
    report = export_report(page, tmp_path / "report.html")
    html = report.read_text(encoding="utf-8")
    assert "which rule covers the mortar?" in html and not re.search(r"https?://", html)
    screenshots(page, "03_feedback_export")

    page.reload()
    expect(page.locator("#message textarea")).to_be_visible()
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history-table")).to_contain_text("brick")
    screenshots(page, "04_history")
    page.locator("#history-reopen").click()
    expect(page.locator("#chat")).to_contain_text("Reopened inspection")
    expect(page.locator("#chat")).to_contain_text("which rule covers the mortar?")
    expect(page.locator("#verdict-card .nc-label")).to_have_text(VERDICT)
    screenshots(page, "05_reopened")

    feedback = [r for r in ui_inspector.log.records() if r["kind"] == "feedback"
                and r["comment"] == "hairline crack in the mortar"]
    assert feedback and feedback[0]["rating"] == "down" and feedback[0]["label"] == "normal"
    assert not outside, f"the page reached outside the app: {outside}"
    context.close()


def test_two_sessions_at_once_keep_their_chats_and_share_the_history(browser, served_app, ui_inspector,
                                                                     defect_image, good_image, screenshots):
    """Issue 13 item 7 replaces the older "two browsers see only their own history": without logins the one
    local user sees every inspection in the home from any browser; each chat still shows only its own image."""
    (context_a, page_a, outside_a), (context_b, page_b, outside_b) = (_open(browser, served_app),
                                                                      _open(browser, served_app))
    _upload(page_a, defect_image)
    _upload(page_b, good_image)                     # both queued at once
    for page in (page_a, page_b):
        expect(page.locator("#verdict-card .nc-label")).to_have_text(VERDICT)
    sources = [[img.get_attribute("src") for img in page.locator("#chat img").all()] for page in (page_a, page_b)]
    assert any(defect_image.name in s for s in sources[0]) and not any(good_image.name in s for s in sources[0])
    assert any(good_image.name in s for s in sources[1]) and not any(defect_image.name in s for s in sources[1])
    owners = _inspection_ids(ui_inspector)
    ids = list(owners)[-2:]                          # the two just run, one per browser
    assert owners[ids[0]] != owners[ids[1]]
    for page in (page_a, page_b):
        page.get_by_role("tab", name="History").click()
        for inspection_id in ids:
            expect(page.locator("#history-table")).to_contain_text(inspection_id)
    screenshots(page_a, "06_session_a_history")
    page_b.get_by_role("tab", name="Rules").click()
    expect(page_b.locator("#rules-table")).to_contain_text("shipped (read-only)")
    screenshots(page_b, "07_session_b_rules")
    assert not outside_a and not outside_b
    context_a.close()
    context_b.close()


def test_an_image_can_be_pasted_or_dropped_into_the_chat(browser, served_app, defect_image, good_image, screenshots):
    context, page, outside = _open(browser, served_app)
    for how, image in (("paste", defect_image), ("drop", good_image)):
        encoded = base64.b64encode(image.read_bytes()).decode("ascii")
        page.evaluate(HAND_OVER, [encoded, f"{how}d_{image.name}", how])
        expect(page.locator("#message img").first).to_be_visible()
        page.locator("#message textarea").press("Enter")
        expect(page.locator("#chat img").first).to_have_attribute("src", re.compile(f"{how}d_{image.name}"))
        expect(page.locator("#verdict-card .nc-label")).to_have_text(VERDICT)
    screenshots(page, "08_dropped")
    assert not outside
    context.close()
