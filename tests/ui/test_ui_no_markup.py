"""No markup from data: rule texts, model answers and file names are shown as text in every chat bubble,
card, table and report. A loopback listener records every request; markup that a browser would follow
(Markdown images and links, <img src>, raw HTML) points at it, and no request may reach it."""

import http.server
import json
import re
import shutil
import threading

import pytest
from playwright.sync_api import expect
from ui_test_tools import copy_home, export_report, free_port

pytestmark = pytest.mark.browser
VERDICT = re.compile("PASS|FAIL")


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.seen.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    """A tiny HTTP server on a free loopback port that records every request it gets."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Recorder)
    _Recorder.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    server.shutdown()
    server.server_close()


def markup(base: str, tag: str) -> str:
    """Every kind of markup that makes a browser fetch or link, each pointing at the listener."""
    return (f"{tag} ![x]({base}/{tag}-a.png) <img src={base}/{tag}-b.png> [click]({base}/{tag}-link) "
            f"<b>bold</b> <script>fetch('{base}/{tag}-js')</script> {base}/{tag}-bare & 1 < 2")


@pytest.fixture
def markup_app(ready_home, tmp_path, listener):
    from scripted_backend import ScriptedBackend

    from assistant.config import NormalcyConfig
    from assistant.inspector import Inspector
    from ui.chat_app import create_app, launch

    base, _ = listener
    verdict = json.dumps({"reasoning": markup(base, "verdict"), "correctness": 0})
    backend = ScriptedBackend([verdict, markup(base, "answer")])
    inspector = Inspector(NormalcyConfig(), copy_home(ready_home, tmp_path / "home"), backend=backend)
    inspector.rule_book.add(markup(base, "book"), "brick", "defect", "major")
    app = create_app(inspector, work_dir=tmp_path / "work")
    _, url, _ = launch(app, "127.0.0.1", free_port(), block=False, quiet=True)
    yield url
    app.close()


def _no_markup_in(page, selector, base):
    """Nothing under `selector` became an element from data: no image, link, bold or script."""
    box = page.locator(selector)
    for element in (f"img[src^='{base}']", "img[src$='f2.png']", f"a[href^='{base}']", "b:text('bold')",
                    "i:text('it')", "script"):
        expect(box.locator(element)).to_have_count(0)


def test_markup_in_rules_answers_and_file_names_stays_text(browser, markup_app, listener, defect_image, tmp_path,
                                                          screenshots):
    base, seen = listener
    named = tmp_path / "part_![f](f.png)_<i>it_<img src=f2.png>.png"  # no "/" in a file name
    shutil.copy(defect_image, named)
    context = browser.new_context(viewport={"width": 1280, "height": 720}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(markup_app)

    page.get_by_role("tab", name="Rules").click()
    page.locator("#rule-text textarea").fill(markup(base, "tab"))
    page.locator("#rule-save").click()
    expect(page.locator("#rules-table")).to_contain_text("tab ![x](")
    _no_markup_in(page, "#rules-table", base)
    screenshots(page, "20_markup_rules_tab")

    page.get_by_role("tab", name="Inspect").click()
    page.locator("#message input[type=file]").set_input_files(str(named))
    expect(page.locator("#message img").first).to_be_visible()
    page.locator("#message textarea").fill("is it <b>bold</b> or ![q](q.png)?")
    page.locator("#message textarea").press("Enter")
    expect(page.locator("#verdict-card .nc-label")).to_have_text(VERDICT)
    expect(page.locator("#chat")).to_contain_text(f"verdict ![x]({base}/verdict-a.png) <img src={base}")
    expect(page.locator("#chat")).to_contain_text("<b>bold</b> <script>fetch(")      # the reasoning, in the chat
    expect(page.locator("#rules-panel")).to_contain_text("book ![x](")
    page.locator("#message textarea").fill("and [this](http://example.com)?")
    page.locator("#message textarea").press("Enter")
    expect(page.locator("#chat")).to_contain_text(f"answer ![x]({base}/answer-a.png)")
    expect(page.locator("#chat")).to_contain_text("& 1 < 2")
    for selector in ("#chat", "#verdict-card", "#rules-panel", "#class-note"):
        _no_markup_in(page, selector, base)
    screenshots(page, "21_markup_chat")

    report = export_report(page, tmp_path / "report.html")

    page.reload()
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history-table")).to_contain_text("brick")
    page.locator("#history-reopen").click()
    expect(page.locator("#chat")).to_contain_text("Reopened inspection")
    expect(page.locator("#chat")).to_contain_text(f"answer ![x]({base}/answer-a.png)")
    for selector in ("#chat", "#verdict-card", "#rules-panel", "#history-table"):
        _no_markup_in(page, selector, base)
    screenshots(page, "22_markup_reopened")

    page.goto(report.as_uri())
    expect(page.locator("body")).to_contain_text(f"answer ![x]({base}/answer-a.png) <img src={base}")
    _no_markup_in(page, "body", base)
    screenshots(page, "23_markup_report")
    page.wait_for_timeout(500)
    context.close()
    assert not seen, f"markup from data made the browser fetch: {seen}"
    fetched = [u for u in requested if re.search(r"/(f|f2|q)\.png|-(a|b)\.png|-link|-js|-bare", u)]
    assert not fetched, f"markup from data made the browser fetch: {fetched}"
