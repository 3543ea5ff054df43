"""Rules tab (issue 13 item 6): text typed while a save is still running (> 3 s) is not overwritten when
the save finishes. The save is held in-test by a hook on the rule book the test releases, not a sleep in
product code."""

import threading
import time

import pytest
from ui_test_tools import free_port, open_page
from playwright.sync_api import expect

from assistant.records.rule_book import RuleBook

pytestmark = pytest.mark.browser
SAVED = "A chipped corner over 2 mm is a defect."
TYPED = "A burr longer than 1 mm on the edge is a defect."


@pytest.fixture
def held_save(monkeypatch):
    """RuleBook.add waits until the test releases it; `entered` is set once a save is under way."""
    entered, release = threading.Event(), threading.Event()
    real_add = RuleBook.add

    def slow_add(self, *args, **kwargs):
        entered.set()
        assert release.wait(60), "the test never released the save"
        return real_add(self, *args, **kwargs)

    monkeypatch.setattr(RuleBook, "add", slow_add)
    return entered, release


def test_an_edit_typed_during_a_slow_save_survives(browser, private_inspector, held_save, tmp_path, screenshots):
    from ui.chat_app import create_app, launch

    entered, release = held_save
    app = create_app(private_inspector, work_dir=tmp_path / "work")
    _, url, _ = launch(app, "127.0.0.1", free_port(), block=False, quiet=True)
    context, page = open_page(browser, url)
    try:
        page.get_by_role("tab", name="Rules").click()
        expect(page.locator("#rules-table")).to_contain_text("shipped (read-only)")
        box = page.locator("#rule-text textarea")
        box.fill(SAVED)
        page.locator("#rule-save").click()
        clicked = time.monotonic()
        assert entered.wait(30), "the save never reached the rule book"
        box.fill(TYPED)                                    # the operator keeps typing while it saves
        time.sleep(max(0.0, 3.2 - (time.monotonic() - clicked)))
        release.set()
        expect(page.locator("#rule-status")).to_contain_text("Added rule", timeout=60_000)   # the first save loads the text encoder
        expect(page.locator("#rules-table")).to_contain_text(SAVED)
        page.wait_for_timeout(1000)                        # any late refresh of the form would land by now
        expect(box).to_have_value(TYPED)
        screenshots(page, "e5_rules_slow_save")
    finally:
        release.set()
        context.close()
        app.close()
    assert SAVED in {r.text for r in private_inspector.rule_book.list("brick")}
